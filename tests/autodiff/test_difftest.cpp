// Differential test against PyTorch: generated programs over every differentiable op (tests/autodiff/difftest/,
// format in programs.py) run on the engine, whose value, gradients, Hessian-vector products and third derivatives
// must match torch's float64 results to 1e-10 of their scale, max(1, max |torch value|). Each third derivative is
// taken four ways (reverse or forward mode over an HVP recorded in either mode), and jvp_batched is checked
// against one jvp per direction.
//
// EBM_DIFFTEST_CORPUS=path runs another corpus (plain or gzipped JSON Lines, e.g. a long run made by
// torch_eval.py) in place of the committed one; EBM_DIFFTEST_FAILURES=path then also writes each failing
// program's line there, for minimise.py.
#include <doctest/doctest.h>
#include <zlib.h>

#include <autodiff/autodiff.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {
using json = nlohmann::json;
using ad::Shape;
using ad::Tape;
using ad::Tensor;
using ad::Var;
using V = Var<double>;

constexpr double kTolerance = 1e-10;
constexpr size_t kMinCommittedPrograms = 2000;
constexpr int kFailuresShown = 10;

const std::string kDir = std::string(EBM_SOURCE_DIR) + "/tests/autodiff/difftest/";

// The arguments printed one after another (GCC 12 warns falsely, -Wrestrict, on "literal" + std::string).
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream s;
  (s << ... << a);
  return s.str();
}

// Lines of a JSON Lines file, gzipped or not (zlib reads a plain file as it is). Empty if it cannot be opened.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : f_(gzopen(path.c_str(), "rb")) {}
  ~LineReader() {
    if (f_) gzclose(f_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  bool ok() const { return f_ != nullptr; }
  bool next(std::string& line) {
    line.clear();
    if (!f_) return false;
    char buf[1 << 16];
    while (gzgets(f_, buf, sizeof buf)) {
      line += buf;
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        return true;
      }
    }
    return !line.empty();
  }

 private:
  gzFile f_;
};

Shape shape_of(const json& j) {
  int64_t dims[ad::kMaxRank] = {};
  const int r = static_cast<int>(j.size());
  for (int k = 0; k < r; ++k) dims[k] = j[static_cast<size_t>(k)].get<int64_t>();
  return Shape::of_rank(r, dims);
}

Tensor<double> tensor_of(const Shape& s, const json& data) {
  Tensor<double> t(s);
  if (static_cast<int64_t>(data.size()) != s.numel()) throw std::runtime_error(cat("data does not fit shape ", s.str()));
  for (int64_t i = 0; i < s.numel(); ++i) t[i] = data[static_cast<size_t>(i)].get<double>();
  return t;
}

// Operand positions of an instruction (the other entries are attributes); mirrors programs._operands.
std::vector<size_t> operand_slots(const json& ins) {
  const std::string op = ins[0];
  if (op == "var" || op == "const" || op == "concat_rows") return {};
  if (op == "add" || op == "sub" || op == "mul" || op == "div" || op == "mul_sum_to" || op == "matmul") return {1, 2};
  if (op == "where") return {1, 2, 3};
  return {1};
}

// The instruction of node k as it runs on the engine.
V run_op(Tape<double>& tape, const json& ins, const std::vector<V>& n) {
  const std::string op = ins[0];
  if (op == "var" || op == "const") {
    const Tensor<double> t = tensor_of(shape_of(ins[1]), ins[2]);
    return op == "var" ? tape.variable(t) : tape.constant(t);
  }
  if (op == "concat_rows") {
    std::vector<V> xs;
    for (const json& k : ins[1]) xs.push_back(n.at(k.get<size_t>()));
    return ad::concat_rows(xs);
  }
  const V a = n.at(ins[1].get<size_t>());
  auto b = [&] { return n.at(ins[2].get<size_t>()); };
  auto num = [&](size_t k) { return ins[k].get<double>(); };
  auto integer = [&](size_t k) { return ins[k].get<int>(); };
  if (op == "add") return ad::add(a, b());
  if (op == "sub") return ad::sub(a, b());
  if (op == "mul") return ad::mul(a, b());
  if (op == "div") return ad::div(a, b());
  if (op == "mul_sum_to") return ad::mul_sum_to(a, b(), shape_of(ins[3]));
  if (op == "affine") return ad::affine(a, num(2), num(3));
  if (op == "pow") return ad::pow(a, num(2));
  if (op == "exp") return ad::exp(a);
  if (op == "log") return ad::log(a);
  if (op == "log1p") return ad::log1p(a);
  if (op == "sqrt") return ad::sqrt(a);
  if (op == "square") return ad::square(a);
  if (op == "abs") return ad::abs(a);
  if (op == "tanh") return ad::tanh(a);
  if (op == "sigmoid") return ad::sigmoid(a);
  if (op == "silu") return ad::silu(a);
  if (op == "softplus") return ad::softplus(a);
  if (op == "elu") return ad::elu(a, num(2));
  if (op == "relu") return ad::relu(a);
  if (op == "sum") return ins.size() == 2 ? ad::sum(a) : ad::sum(a, integer(2), integer(3) != 0);
  if (op == "mean") return ins.size() == 2 ? ad::mean(a) : ad::mean(a, integer(2), integer(3) != 0);
  if (op == "max") return ad::max(a, integer(2), integer(3) != 0);
  if (op == "logsumexp") return ins.size() == 2 ? ad::logsumexp(a) : ad::logsumexp(a, integer(2), integer(3) != 0);
  if (op == "softmax") return ad::softmax(a, integer(2));
  if (op == "log_softmax") return ad::log_softmax(a, integer(2));
  if (op == "matmul") return ad::matmul(a, b(), integer(3) != 0, integer(4) != 0);
  if (op == "transpose") return ad::transpose(a);
  if (op == "reshape") return ad::reshape(a, shape_of(ins[2]));
  if (op == "broadcast_to") return ad::broadcast_to(a, shape_of(ins[2]));
  if (op == "sum_to") return ad::sum_to(a, shape_of(ins[2]));
  if (op == "slice_rows") return ad::slice_rows(a, ins[2].get<int64_t>(), ins[3].get<int64_t>());
  if (op == "pad_rows") return ad::pad_rows(a, ins[2].get<int64_t>(), ins[3].get<int64_t>());
  if (op == "gather_cols") return ad::gather_cols(a, ins[2].get<std::vector<int64_t>>());
  if (op == "scatter_cols") {
    const std::vector<double> idx = ins[2].get<std::vector<double>>();
    const V index = tape.constant(Tensor<double>(Shape{static_cast<int64_t>(idx.size())}, idx.data()));
    return ad::scatter_cols(a, index, ins[3].get<int64_t>());
  }
  if (op == "where") return ad::where(a, b(), n.at(ins[3].get<size_t>()));
  if (op == "clamp") return ad::clamp(a, num(2), num(3));
  if (op == "stop_gradient") return ad::stop_gradient(a);
  throw std::runtime_error(cat("unknown op '", op, "'"));
}

// The program as text: one line per node, leaves without their data, and the roles of the nodes.
std::string describe(const json& p) {
  std::ostringstream s;
  const json& prog = p["prog"];
  for (size_t k = 0; k < prog.size(); ++k) {
    const json& ins = prog[k];
    s << "  n" << k << " = " << ins[0].get<std::string>();
    if (ins[0] == "var" || ins[0] == "const") {
      s << " " << shape_of(ins[1]).str() << "\n";
      continue;
    }
    const std::vector<size_t> slots = operand_slots(ins);
    s << "(";
    for (size_t j = 1; j < ins.size(); ++j) {
      if (j > 1) s << ", ";
      if (std::find(slots.begin(), slots.end(), j) != slots.end()) {
        s << "n" << ins[j].get<int64_t>();
      } else if (ins[0] == "concat_rows") {
        for (size_t i = 0; i < ins[j].size(); ++i) s << (i ? ", n" : "n") << ins[j][i].get<int64_t>();
      } else {
        s << ins[j].dump();
      }
    }
    s << ")\n";
  }
  s << "  f = sum of sum(n * weights) over n in {";
  for (size_t j = 0; j < p["out"].size(); ++j) s << (j ? ", n" : "n") << p["out"][j][0].get<int64_t>();
  s << "}; grad in {";
  for (size_t j = 0; j < p["req"].size(); ++j) s << (j ? ", n" : "n") << p["req"][j].get<int64_t>();
  s << "}; hvp and d3 in n" << p["x"].get<int64_t>() << "\n";
  return s.str();
}

struct Mismatch {
  std::string quantity;
  double error;  // max |ours - reference| / scale
  std::string detail;
};

// Compares ours with a reference of the same length; appends a Mismatch when they differ by more than the tolerance
// times the scale, max(floor, max |reference|).
void compare(std::vector<Mismatch>& out, const std::string& quantity, const Tensor<double>& ours,
             const std::vector<double>& want, double floor = 1) {
  if (static_cast<size_t>(ours.numel()) != want.size()) {
    out.push_back({quantity, INFINITY,
                   cat("ours has ", ours.numel(), " values (shape ", ours.shape().str(), "), the reference ", want.size())});
    return;
  }
  double scale = floor;
  for (double u : want) scale = std::max(scale, std::abs(u));
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(ours[static_cast<int64_t>(i)] - want[i]) / scale;
    if (!(e <= worst)) {  // NaN counts as the worst
      worst = std::isnan(e) ? INFINITY : e;
      at = i;
      if (std::isnan(e)) break;
    }
  }
  if (worst > kTolerance) {
    std::ostringstream d;
    d.precision(17);
    d << "at element " << at << " ours " << ours[static_cast<int64_t>(at)] << ", reference " << want[at] << " (scale "
      << scale << ")";
    out.push_back({quantity, worst, d.str()});
  }
}

std::vector<double> values(const json& j) { return j.get<std::vector<double>>(); }
std::vector<double> values(const Tensor<double>& t) { return std::vector<double>(t.begin(), t.end()); }

// Every check of one program.
std::vector<Mismatch> check_program(const json& p) {
  std::vector<Mismatch> bad;
  Tape<double> tape;
  std::vector<V> n;
  for (const json& ins : p["prog"]) n.push_back(run_op(tape, ins, n));
  V f;
  for (const json& o : p["out"]) {
    const V node = n.at(o[0].get<size_t>());
    const V term = ad::sum(node * tape.constant(tensor_of(node.shape(), o[1])));
    f = f.defined() ? f + term : term;
  }
  compare(bad, "value f", f.value(), {p["f"].get<double>()});

  std::vector<V> req;
  for (const json& k : p["req"]) req.push_back(n.at(k.get<size_t>()));
  const std::vector<V> g = ad::grad<double>({f}, req);
  for (size_t k = 0; k < req.size(); ++k)
    compare(bad, cat("grad in n", p["req"][k].get<int64_t>(), " (with every requested node at once)"), g[k].value(),
            values(p["grad"][k]));

  const V x = n.at(p["x"].get<size_t>());
  const V v = tape.constant(tensor_of(x.shape(), p["v"])), w = tape.constant(tensor_of(x.shape(), p["w"]));
  const std::vector<double> hvp_ref = values(p["hvp"]), d3_ref = values(p["d3"]);
  for (auto [mode, name] : {std::pair{ad::HvpMode::reverse_over_reverse, "reverse_over_reverse"},
                            std::pair{ad::HvpMode::forward_over_reverse, "forward_over_reverse"}}) {
    compare(bad, cat("hvp ", name), ad::hvp(f, x, v, false, mode).value(), hvp_ref);
    const auto mark = tape.mark();
    const V hv = ad::hvp(f, x, v, true, mode);  // recorded, to be differentiated once more along w
    compare(bad, cat("d3 by grad of the recorded hvp ", name), ad::grad<double>({hv}, {x}, {w})[0].value(), d3_ref);
    compare(bad, cat("d3 by jvp of the recorded hvp ", name), ad::jvp<double>({hv}, {x}, {w})[0].value(), d3_ref);
    tape.rewind(mark);
  }

  // Batched forward mode against one jvp per direction, for the terms of f and f itself, in every var leaf at once;
  // and each jvp of f against the gradient's inner product with the direction.
  std::vector<V> leaves, tangents, outputs;
  std::vector<Tensor<double>> tangent_values;
  for (const json& d : p["dirs"]) {
    leaves.push_back(n.at(d[0].get<size_t>()));
    tangent_values.push_back(tensor_of(shape_of(d[1]), d[2]));
    tangents.push_back(tape.constant(tangent_values.back()));
  }
  int max_rank = 0;
  for (const V& node : n) max_rank = std::max(max_rank, node.rank());
  if (leaves.empty() || max_rank > 3) return bad;  // batched tangents of rank-4 values would have rank 5
  for (const json& o : p["out"]) outputs.push_back(n.at(o[0].get<size_t>()));
  outputs.push_back(f);
  const int64_t K = p["K"].get<int64_t>();
  const std::vector<V> batched = ad::jvp_batched(outputs, leaves, tangents);
  const std::vector<V> grads_all = ad::grad<double>({f}, leaves);
  for (int64_t k = 0; k < K; ++k) {
    std::vector<V> tk;
    double dot = 0, dot_scale = 1;  // the scale of a sum is that of its terms
    for (size_t i = 0; i < leaves.size(); ++i) {
      const Tensor<double>& t = tangent_values[i];
      const int64_t per = t.numel() / K;
      int64_t dims[ad::kMaxRank] = {};
      for (int a = 1; a < t.rank(); ++a) dims[a - 1] = t.shape()[a];
      const Tensor<double> slice(Shape::of_rank(t.rank() - 1, dims), t.data() + k * per);
      const V full = ad::broadcast_to(tape.constant(slice), leaves[i].shape());
      tk.push_back(full);
      const Tensor<double> fv = full.value(), gv = grads_all[i].value();
      for (int64_t e = 0; e < fv.numel(); ++e) {
        dot += fv[e] * gv[e];
        dot_scale += std::abs(fv[e] * gv[e]);
      }
    }
    const std::vector<V> single = ad::jvp(outputs, leaves, tk);
    for (size_t j = 0; j < outputs.size(); ++j) {
      const Tensor<double> b = batched[j].value();
      const int64_t per = b.numel() / K;
      const Tensor<double> bk(single[j].shape(), b.data() + k * per);
      const std::string what = j + 1 == outputs.size() ? std::string("f") : cat("n", p["out"][j][0].get<int64_t>());
      compare(bad, cat("jvp_batched against jvp, direction ", k, ", output ", what), bk, values(single[j].value()));
    }
    compare(bad, cat("jvp of f against <grad f, tangent>, direction ", k), single.back().value(), {dot}, dot_scale);
  }
  return bad;
}

struct Summary {
  size_t programs = 0, failed = 0;
  std::map<std::string, size_t> by_quantity;  // programs per differing quantity, node and direction numbers as #
};

std::string without_numbers(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      out += c;
    else if (out.empty() || out.back() != '#')
      out += '#';
  return out;
}

// Runs every program of a corpus file; shows the first failures in full and counts the rest.
Summary check_corpus(const std::string& path, std::ostream* failures_out) {
  Summary s;
  LineReader in(path);
  REQUIRE_MESSAGE(in.ok(), "cannot open the corpus " << path);
  std::string line;
  size_t line_no = 0;
  while (in.next(line)) {
    ++line_no;
    if (line.empty()) continue;
    const json p = json::parse(line);
    ++s.programs;
    std::vector<Mismatch> bad;
    try {
      bad = check_program(p);
    } catch (const std::exception& e) {
      bad.push_back({"the engine threw", INFINITY, e.what()});
    }
    if (bad.empty()) continue;
    ++s.failed;
    if (failures_out) *failures_out << line << "\n";
    std::set<std::string> kinds;
    for (const Mismatch& m : bad) kinds.insert(without_numbers(m.quantity));
    for (const std::string& k : kinds) ++s.by_quantity[k];
    if (s.failed <= static_cast<size_t>(kFailuresShown)) {
      std::ostringstream msg;
      msg << "program " << p.value("id", json()).dump() << " (seed " << p.value("seed", json()).dump() << ", line "
          << line_no << " of " << path << "): " << bad.size() << " quantities differ\n";
      if (p.contains("note")) msg << "  (" << p["note"].get<std::string>() << ")\n";
      for (const Mismatch& m : bad) msg << "  " << m.quantity << ": max error " << m.error << ", " << m.detail << "\n";
      msg << describe(p);
      FAIL_CHECK(msg.str());
    }
  }
  std::ostringstream msg;
  msg << s.programs << " programs of " << path << " checked against torch, " << s.failed << " with a difference";
  for (const auto& [q, c] : s.by_quantity) msg << "\n  " << c << " x " << q;
  MESSAGE(msg.str());
  CHECK_MESSAGE(s.failed == 0, s.failed << " programs differ (the first " << kFailuresShown << " are shown above)");
  return s;
}

}  // namespace

TEST_CASE("difftest: the engine agrees with torch on generated programs (value, grad, HVP, third order, jvp_batched)") {
  const char* external = std::getenv("EBM_DIFFTEST_CORPUS");
  const char* failures = std::getenv("EBM_DIFFTEST_FAILURES");
  std::ofstream failures_file;
  if (failures) failures_file.open(failures);
  const auto start = std::chrono::steady_clock::now();
  const std::string path = external ? std::string(external) : kDir + "corpus_f64.jsonl.gz";
  const Summary s = check_corpus(path, failures ? &failures_file : nullptr);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(s.programs << " programs in " << seconds << " s");
  if (external)
    CHECK(s.programs > 0);
  else
    CHECK_MESSAGE(s.programs >= kMinCommittedPrograms,
                  "the committed corpus has " << s.programs << " programs; it should have at least " << kMinCommittedPrograms);
}

TEST_CASE("difftest: minimised programs that once disagreed with torch") {
  const Summary s = check_corpus(kDir + "regressions.jsonl", nullptr);
  CHECK(s.programs > 0);
}

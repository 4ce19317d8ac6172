// The experiment schema: defaults, error collection with JSON paths, "did you mean", --set, JSON Schema output,
// and the run-directory helpers (atomic writes, RNG state round trip).
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ebm/experiment/config.hpp>
#include <ebm/experiment/rundir.hpp>
#include <ebm/experiment/train.hpp>
#include <ebm/experiment/schema.hpp>

using namespace ebm::experiment;

namespace {
bool has_error(const std::vector<std::string>& errors, const std::string& fragment) {
  return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) { return e.find(fragment) != std::string::npos; });
}
}  // namespace

TEST_CASE("schema: defaults are filled in, nested objects included") {
  json cfg = resolve_config("{}", "x.json", {}, ".");
  CHECK(cfg["data"]["type"] == "two_moons");
  CHECK(cfg["data"]["n"] == 2000);
  CHECK(cfg["objective"]["type"] == "ssm");
  CHECK(cfg["training"]["steps"] == 2000);
  CHECK(cfg["output"]["dir"] == "runs/x");
  // Resolving the resolved config changes nothing: config.json reproduces the run.
  CHECK(resolve_config(cfg.dump(), "x.json", {}, ".") == cfg);
}

TEST_CASE("schema: every error is reported, each with its JSON path") {
  std::vector<std::string> errors;
  json in = json::parse(R"({"objective": {"type": "dsm", "sigma": -0.1}, "trainig": {}, "training": {"steps": 2.5, "batch_size": "x"}})");
  validate(in, experiment_schema(), errors);
  CHECK(errors.size() == 4);
  CHECK(has_error(errors, "objective.sigma: expected a positive number, got -0.1"));
  CHECK(has_error(errors, "trainig: unknown key (did you mean \"training\"?)"));
  CHECK(has_error(errors, "training.steps: expected a non-negative integer, got 2.5"));
  CHECK(has_error(errors, "training.batch_size: expected an integer >= 1, got \"x\""));
}

TEST_CASE("schema: integers written as 1e3 are accepted and stored as integers") {
  std::vector<std::string> errors;
  json out = validate(json::parse(R"({"training": {"steps": 1e3}})"), experiment_schema(), errors);
  CHECK(errors.empty());
  CHECK(out["training"]["steps"].is_number_integer());
  CHECK(out["training"]["steps"] == 1000);
}

TEST_CASE("did_you_mean prefers a typo over a prefix and gives up on far words") {
  CHECK(did_you_mean("stepsize", {"steps", "step_size"}) == "step_size");
  CHECK(did_you_mean("trainig", {"data", "training"}) == "training");
  CHECK(did_you_mean("zzzzzz", {"data", "training"}).empty());
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("--set parses JSON values, else strings, and creates objects") {
  json c = json::object();
  apply_set(c, "training.steps=10");
  apply_set(c, "data.type=rings");
  apply_set(c, "model.hidden=[8,8]");
  CHECK(c["training"]["steps"] == 10);
  CHECK(c["data"]["type"] == "rings");
  CHECK(c["model"]["hidden"].size() == 2);
  CHECK_THROWS_AS(apply_set(c, "novalue"), std::invalid_argument);
  CHECK_THROWS_AS(apply_set(c, "a..b=1"), std::invalid_argument);
}

TEST_CASE("config errors: invalid JSON and data-source checks") {
  CHECK_THROWS_WITH_AS(resolve_config("{\"seed\": ", "f.json", {}, "."), doctest::Contains("invalid JSON"), ConfigError);
  try {
    resolve_config(R"({"data": {"type": "gaussian_mixture", "means": [[0, 0]], "scales": [[1, 1, 1]]}})", "f.json", {}, ".");
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(has_error(e.errors(), "data.scales: expected shape [1] or [1, 2]"));
  }
}

TEST_CASE("evaluation.held_out: one key for every metric; the old held_out_split still loads") {
  CHECK(resolve_config("{}", "x.json", {}, ".")["evaluation"]["held_out"] == "auto");
  // "auto" resolves against the data source: a fresh draw of a random source, the test split of a split source.
  CHECK(held_out_mode(resolve_config("{}", "x.json", {}, ".")) == "fresh");
  const std::string fashion = R"({"data": {"type": "fashion_mnist", "split": "train", "dir": "/nonexistent"}, "model": {"type": "rbm"},
                                   "evaluation": {"held_out_split": "test"}})";
  json c = resolve_config(fashion, "x.json", {}, ".");
  CHECK(c["evaluation"]["held_out"] == "test");
  CHECK(!c["evaluation"].contains("held_out_split"));  // translated: the resolved config has one key
  CHECK(held_out_mode(c) == "test");
  const std::string fashion_test = R"({"data": {"type": "fashion_mnist", "split": "test", "dir": "/nonexistent"}, "model": {"type": "rbm"}})";
  CHECK(held_out_mode(resolve_config(fashion_test, "x.json", {}, ".")) == "none");  // never the training data as "held out"
  CHECK_THROWS_AS(resolve_config(fashion, "x.json", {"data.split=test"}, "."), ConfigError);
  // "none" (the old default) keeps "auto": the other metrics always had held-out data.
  CHECK(resolve_config(R"({"evaluation": {"held_out_split": "none"}})", "x.json", {}, ".")["evaluation"]["held_out"] == "auto");
  CHECK_THROWS_WITH_AS(resolve_config(R"({"evaluation": {"held_out_split": "train"}})", "x.json", {}, "."),
                       doctest::Contains("evaluation.held_out_split: replaced by evaluation.held_out"), ConfigError);
  CHECK_THROWS_WITH_AS(resolve_config(R"({"evaluation": {"held_out": "test"}})", "x.json", {}, "."),
                       doctest::Contains("evaluation.held_out: \"test\" needs a data source with a test split"), ConfigError);
  CHECK_THROWS_WITH_AS(resolve_config(R"({"evaluation": {"ais": {"reverse": "both"}}})", "x.json", {}, "."),
                       doctest::Contains("evaluation.ais.reverse: expected one of"), ConfigError);
}

TEST_CASE("JSON Schema output names every section and marks closed objects") {
  json s = to_json_schema(experiment_schema());
  CHECK(s["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  for (const char* k : {"data", "model", "objective", "sampler", "optimiser", "training", "evaluation", "output"})
    CHECK(s["properties"].contains(k));
  CHECK(s["properties"]["training"]["additionalProperties"] == false);
  CHECK(s["properties"]["objective"]["oneOf"].size() >= 4);
}

TEST_CASE("run directory: atomic writes and exact RNG state round trip") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ebm_test_config_rundir." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_json(dir / "a.json", json{{"x", 0.1}});
  write_json(dir / "a.json", json{{"x", 0.2}});
  CHECK(read_json(dir / "a.json")["x"] == 0.2);
  size_t files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++files;
  CHECK(files == 1);  // no temporaries left behind

  ad::Rng rng(7, 3);
  rng.normal();  // leaves a spare normal in the state
  ad::Rng::State st = rng.state();
  json ck = {{"rng", rng_to_json(st)}, {"value", 0.1 + 0.2}};
  save_checkpoint(dir, ck);
  json back = *load_checkpoint(dir);
  ad::Rng again(rng_from_json(back["rng"]));
  CHECK(again.normal() == rng.normal());
  CHECK(back["value"].get<double>() == 0.1 + 0.2);
  fs::remove_all(dir);
}

TEST_CASE("input limits: depth, duplicate keys, overflowing numbers, and messages of bounded size") {
  CHECK(parse_limited(R"({"a": [1, {"b": 2}]})")["a"][1]["b"] == 2);
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  CHECK(parse_limited(deep).is_array());  // kMaxJsonDepth levels: fine
  CHECK_THROWS_WITH_AS(parse_limited("[" + deep + "]"), doctest::Contains("nested deeper than 64 levels"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_limited(std::string(100000, '[') + std::string(100000, ']')), doctest::Contains("nested deeper"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_limited(R"({"x": {"y": 1, "z": 2, "y": 3}})"), doctest::Contains("x.y: duplicate key"),
                       std::invalid_argument);
  CHECK(parse_limited(R"({"x": {"y": 1}, "z": {"y": 2}})")["z"]["y"] == 2);  // the same key in two objects is fine
  CHECK_THROWS_WITH_AS(parse_limited(R"({"lr": 1e999})"), doctest::Contains("number overflow"), std::invalid_argument);
  // brief and cut: bounded whatever the value, with the size given.
  const std::string huge(1000000, 'k');
  CHECK(brief(json(huge)).size() < 120);
  CHECK(brief(json(huge)).find("1000000 characters") != std::string::npos);
  json big = json::array();
  for (int i = 0; i < 100000; ++i) big.push_back(i);
  CHECK(brief(big).size() < 120);
  CHECK(brief(big).find("100000 elements") != std::string::npos);
  CHECK(brief(json{{"a", 1}}) == R"({"a": 1})");
  CHECK(cut(huge).size() < 100);
  CHECK(did_you_mean(huge, {"steps"}).empty());
}

TEST_CASE("checkpoint files: CRC-32C, every damaged byte refused, two generations, bare CBOR of older files read") {
  namespace fs = std::filesystem;
  // The standard check value of CRC-32C (RFC 3720, appendix B.4): "123456789" -> 0xE3069283; and 32 zero bytes.
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c("6789", crc32c("12345")) == 0xE3069283u);  // continued over pieces

  const fs::path dir = fs::temp_directory_path() / ("ebm_test_config_checkpoint." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  save_checkpoint(dir, json{{"step", 1}, {"x", 0.5}});
  save_checkpoint(dir, json{{"step", 2}, {"x", 0.25}});
  CHECK((*load_checkpoint(dir))["step"] == 2);
  CHECK(read_checkpoint_file(dir / kPreviousCheckpointFile)["step"] == 1);
  // Every single-byte change anywhere in the file (header or payload) is refused, naming the file.
  std::ifstream in(dir / kCheckpointFile, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  int refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    write_atomic(dir / kCheckpointFile, bad);
    try {
      load_checkpoint(dir);
    } catch (const InputError& e) {
      refused += std::string(e.what()).find((dir / kCheckpointFile).string() + ": damaged checkpoint") == 0 &&
                 std::string(e.what()).find("(step 1) is intact") != std::string::npos;
    }
  }
  CHECK(refused == int(good.size()));
  write_atomic(dir / kCheckpointFile, good.substr(0, good.size() - 1));  // cut short
  CHECK_THROWS_WITH_AS(load_checkpoint(dir), doctest::Contains("payload bytes"), InputError);
  // A checkpoint written before the header (bare CBOR) still loads.
  const std::vector<uint8_t> bare = json::to_cbor(json{{"format", "ebm-checkpoint-2"}, {"step", 7}});
  write_atomic(dir / kCheckpointFile, std::string(bare.begin(), bare.end()));
  CHECK((*load_checkpoint(dir))["step"] == 7);
  fs::remove_all(dir);
}

TEST_CASE("checkpoint optimiser state: every list under its name, restored exactly; the older key \"optimizer\" still read") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ebm_test_config_optimiser." + std::to_string(::getpid()));
  const std::string base = R"({"data": {"type": "gaussian_mixture", "n": 256, "means": [[1.0, -0.5]], "scales": [[1.0, 0.7]]},
      "model": {"type": "gaussian", "form": "full"}, "objective": {"type": "sm"}, "seed": 3, "dtype": "float64",
      "training": {"steps": 3, "batch_size": 32, "log_every": 3, "checkpoint_every": 3},
      "evaluation": {"log_z": false}, "output": {"plots": false}, "optimiser": )";
  // Adam keeps "m" and "v", SGD with momentum "momentum": one tensor per parameter after the first step.
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"type": "adam", "lr": 0.01})", {"m", "v"}}, {R"({"type": "sgd", "lr": 0.01, "momentum": 0.9})", {"momentum"}}};
  for (const auto& [optimiser, lists] : cases) {
    CAPTURE(optimiser);
    const json cfg = resolve_config(base + optimiser + "}", "x.json", {}, ".");
    fs::remove_all(dir);
    fs::create_directories(dir);
    Session<double> trained = build_session<double>(cfg);
    RunOptions opt;
    opt.dir = dir;
    opt.quiet = true;
    run_experiment(trained, opt);
    const json ck = *load_checkpoint(dir);
    REQUIRE(ck.contains("optimiser"));
    CHECK_FALSE(ck.contains("optimizer"));
    const json& st = ck["optimiser"];
    CHECK(st["step"] == 3);
    const size_t n = trained.parameters().size();
    for (const std::string& name : lists) CHECK(st.at(name).size() == n);

    json old = ck;  // as written before the key took the config's spelling
    old["optimizer"] = old["optimiser"];
    old.erase("optimiser");
    const json* const written[] = {&ck, &old};
    for (const json* c : written) {
      Session<double> resumed = build_session<double>(cfg);
      CHECK(restore_checkpoint(resumed, *c) == 3);
      CHECK(resumed.optimizer->steps() == 3);
      for (auto& [name, list] : resumed.optimizer->state_lists()) {
        REQUIRE(list->size() == n);
        for (size_t i = 0; i < n; ++i) CHECK(tensor_to_bytes((*list)[i]) == st.at(name)[i]);
      }
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("checkpoint tensors: bytes round trip exactly; arrays from older checkpoints still read") {
  ad::Tensor<double> t(ad::Shape{2, 3}, std::vector<double>{0.1, -2.5e-300, 1.0 / 3.0, 7.0, -0.0, 1e300}.data());
  const json bytes = tensor_to_bytes(t);
  CHECK(bytes.is_binary());
  const json through_cbor = json::from_cbor(json::to_cbor(json{{"t", bytes}}))["t"];
  ad::Tensor<double> back(ad::Shape{2, 3});
  REQUIRE(tensor_values_into(through_cbor, back));
  for (int64_t i = 0; i < 6; ++i) CHECK(std::memcmp(&back[i], &t[i], sizeof(double)) == 0);  // bit for bit, -0.0 too

  ad::Tensor<double> old(ad::Shape{2, 3});
  REQUIRE(tensor_values_into(tensor_to_json(t), old));  // ebm-checkpoint-1 stored arrays of numbers
  for (int64_t i = 0; i < 6; ++i) CHECK(old[i] == t[i]);

  ad::Tensor<double> wrong(ad::Shape{5});
  CHECK_FALSE(tensor_values_into(bytes, wrong));
  CHECK_FALSE(tensor_values_into(tensor_to_json(t), wrong));
  CHECK_FALSE(tensor_values_into(json("not a tensor"), wrong));
}

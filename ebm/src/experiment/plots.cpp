// The PNG figures of a run: the model against data and samples (energy landscape, histograms, image grids),
// class-conditional samples of a classifier, the image grids evaluation hands over, and the training curves.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <samplers/langevin.hpp>

#include "ebm/models/classifier.hpp"
#include "ebm/models/sampling.hpp"
#include "ebm/experiment/rundir.hpp"
#include "ebm/experiment/plots.hpp"
#include "ebm/plot/charts.hpp"
#include "ebm/plot/heatmap.hpp"
#include "ebm/plot/image_grid.hpp"

namespace ebm::experiment {

namespace fs = std::filesystem;

std::vector<std::pair<double, double>> plot_box(const json& cfg, const Dataset& data) {
  const json& box = cfg["evaluation"]["box"];
  const ad::Tensor<double>& x = data.x;
  std::vector<std::pair<double, double>> out;
  for (int64_t k = 0; k < x.cols(); ++k) {
    if (!box.is_null()) {
      out.emplace_back(box[0].get<double>(), box[1].get<double>());
      continue;
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t i = 0; i < x.rows(); ++i) lo = std::min(lo, x.at(i, k)), hi = std::max(hi, x.at(i, k));
    double pad = 0.25 * std::max(hi - lo, 1e-3);
    out.emplace_back(lo - pad, hi + pad);
  }
  return out;
}

namespace {

// Class-conditional samples of a classifier energy, E(x, y) = −f(x)[y]: `per_class` Langevin chains per class from
// uniform noise on the data's range, with the experiment's Langevin settings when its sampler is Langevin.
// Rows are ordered class by class.
template <class T>
ad::Tensor<T> class_conditional_samples(Session<T>& s, const ClassifierEnergy<T>& clf, int64_t per_class) {
  const int64_t k = clf.classes(), d = s.data.x.cols(), n = k * per_class;
  double lo = *std::min_element(s.data.x.begin(), s.data.x.end()), hi = *std::max_element(s.data.x.begin(), s.data.x.end());
  samplers::ChainState<T> chains(n, d, ad::Rng(s.cfg["seed"].template get<uint64_t>(), kSampleStream).split(1).next_u64());
  chains.fill_uniform(lo, hi);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < k; ++c) labels.insert(labels.end(), size_t(per_class), c);
  samplers::LangevinOptions o;
  int64_t steps = 200;
  const json& sc = s.cfg["sampler"];
  if (sc["type"] == "langevin") {
    o.step_size = sc["step_size"], steps = sc["steps"];
    if (!sc["noise_scale"].is_null()) o.noise_scale = sc["noise_scale"];
  }
  o.clamp = true, o.lo = lo, o.hi = hi;
  samplers::Langevin<T> l(
      [&clf, &labels](ad::Tape<T>& tape, const ad::Var<T>& x) {
        return clf.energy_xy(bind_params(tape, clf.params(), Bind::constant), x, labels);
      },
      o);
  l.run(chains, steps);
  return chains.x;
}

std::vector<plot::Series> curves_from_metrics(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  plot::Series loss{"loss", {}, {}}, gn{"grad norm", {}, {}};
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      double step = j["step"];
      loss.x.push_back(step), loss.y.push_back(j["loss"].is_number() ? j["loss"].get<double>() : NAN);
      gn.x.push_back(step), gn.y.push_back(j["grad_norm"].is_number() ? j["grad_norm"].get<double>() : NAN);
    } catch (const json::exception&) {
    }
  }
  return {loss, gn};
}

}  // namespace

template <class T>
std::vector<std::string> write_plots(Session<T>& s, const ad::Tensor<T>& samples_t, const std::vector<ImageFigure>& figures,
                                     const fs::path& dir) {
  const ad::Tensor<double> samples = samples_t.template cast<double>();  // the plot library draws doubles
  std::vector<std::string> names;
  const ad::Tensor<double>& x = s.data.x;
  int size = s.cfg["output"]["plot_size"];
  // At most 2000 data points on a picture: more only hides the samples.
  int64_t shown = std::min<int64_t>(x.rows(), 2000);
  ad::Tensor<double> data_shown(ad::Shape{shown, x.cols()}, x.data());
  if (x.cols() == 2) {
    auto box = plot_box(s.cfg, s.data);
    plot::Range2D range{box[0].first, box[0].second, box[1].first, box[1].second};
    plot::HeatmapOptions o;
    o.width = o.height = size;
    o.title = s.cfg["model"]["type"].template get<std::string>() + " / " + s.cfg["objective"]["type"].template get<std::string>();
    const Energy<T>& model = *s.model;
    plot::energy_heatmap([&model](const ad::Tensor<double>& p) { return model.evaluate(in_dtype<T>(p)).template cast<double>(); }, range,
                         data_shown, samples, o)
        .write_png(dir / "energy.png");
    names.push_back("energy.png");
  } else if (x.cols() == 1) {
    std::vector<double> dv(x.begin(), x.end()), sv(samples.begin(), samples.end());
    plot::HistogramOptions o;
    o.title = "data vs samples";
    plot::histogram_plot({{"data", dv}, {"samples", sv}}, 50, size, std::max(48, size * 5 / 8), o).write_png(dir / "histogram.png");
    names.push_back("histogram.png");
  }
  if (s.data.image_rows > 0) {
    int64_t n = std::min<int64_t>(samples.rows(), 64);
    ad::Tensor<double> first(ad::Shape{n, samples.cols()}, samples.data());
    plot::image_grid(first, int(s.data.image_rows), int(s.data.image_cols), 8, 2).write_png(dir / "samples.png");
    names.push_back("samples.png");
  }
  {
    // Energies of held-out data, of the samples and of noise (uniform on the data's bounding box): where the
    // model puts its low energies, at a glance.
    const ad::Tensor<double>& ref = s.held_out().x;
    const int64_t m = std::min<int64_t>(ref.rows(), 2000);
    ad::Tensor<double> noise(ad::Shape{m, x.cols()});
    ad::Rng rng(s.cfg["seed"].template get<uint64_t>(), kHeldOutStream);
    for (int64_t k = 0; k < x.cols(); ++k) {
      double lo = x.at(0, k), hi = x.at(0, k);
      for (int64_t i = 0; i < x.rows(); ++i) lo = std::min(lo, x.at(i, k)), hi = std::max(hi, x.at(i, k));
      for (int64_t i = 0; i < m; ++i) noise.at(i, k) = lo + (hi - lo) * rng.uniform();
    }
    auto energies = [&](const ad::Tensor<double>& pts) {
      const ad::Tensor<T> e = s.model->evaluate(in_dtype<T>(pts));
      std::vector<double> v;
      for (T u : e)
        if (std::isfinite(u)) v.push_back(double(u));
      return v;
    };
    std::vector<plot::NamedValues> sets = {{s.held_out_is_training_data() ? "data" : "held-out data", energies(ad::Tensor<double>(ad::Shape{m, x.cols()}, ref.data()))},
                                           {"noise", energies(noise)}};
    if (samples.rows() > 0) sets.insert(sets.begin() + 1, {"samples", energies(samples)});
    plot::HistogramOptions o;
    o.title = "energy E(x)";
    o.x_label = "E";
    plot::histogram_plot(sets, 60, size, std::max(48, size * 5 / 8), o).write_png(dir / "energy_histogram.png");
    names.push_back("energy_histogram.png");
  }
  if (const auto* clf = dynamic_cast<const ClassifierEnergy<T>*>(s.model.get()); clf && s.data.image_rows > 0) {
    const int64_t per_class = 8;
    plot::image_grid(class_conditional_samples(s, *clf, per_class).template cast<double>(), int(s.data.image_rows), int(s.data.image_cols),
                     int(per_class), 2)
        .write_png(dir / "samples_by_class.png");
    names.push_back("samples_by_class.png");
  }
  for (const auto& f : figures) {
    plot::image_grid(f.tiles, int(s.data.image_rows), int(s.data.image_cols), f.cols, 2).write_png(dir / f.file);
    names.push_back(f.file);
  }
  auto series = curves_from_metrics(dir / kMetricsFile);
  if (!series[0].x.empty()) {
    plot::LinePlotOptions o;
    o.title = "training";
    o.x_label = "step";
    plot::line_plot(series, 640, 400, o).write_png(dir / "training.png");
    names.push_back("training.png");
  }
  return names;
}

template std::vector<std::string> write_plots(Session<float>&, const ad::Tensor<float>&, const std::vector<ImageFigure>&, const fs::path&);
template std::vector<std::string> write_plots(Session<double>&, const ad::Tensor<double>&, const std::vector<ImageFigure>&, const fs::path&);

}  // namespace ebm::experiment

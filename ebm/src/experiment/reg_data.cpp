// Data sources: the 2-D toy sets, Gaussian mixtures, 1-D mixtures, bars and stripes, CSV, NumPy .npy and
// Fashion-MNIST.
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>


#include "ebm/data/csv.hpp"
#include "ebm/data/idx.hpp"
#include "ebm/data/npy.hpp"
#include "ebm/data/toy.hpp"
#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

namespace fs = std::filesystem;

namespace {

Field n_field(int64_t def = 2000) { return {"n", integer("number of points drawn", def).at_least(1)}; }

DataSource toy(const std::string& name, const std::string& description, std::vector<Field> params,
               std::function<ad::Tensor<double>(const json&, int64_t, ad::Rng&)> draw) {
  params.insert(params.begin(), n_field());
  return {name, description, std::move(params),
          [draw](const json& cfg, ad::Rng& rng) {
            Dataset d;
            d.x = draw(cfg, cfg["n"].get<int64_t>(), rng);
            return d;
          },
          {}};
}

// Shapes of a mixture: means [K, D]; scales [K] or [K, D]; weights empty or [K]. Checked before any drawing so
// the user sees "data.scales: ..." rather than a failure deep inside the sampler.
void check_mixture(const json& cfg, std::vector<std::string>& errors) {
  ad::Tensor<double> means, scales;
  try {
    means = tensor_from_json(cfg["means"]);
  } catch (const std::exception& e) {
    errors.push_back(std::string("data.means: ") + e.what());
    return;
  }
  if (means.rank() != 2) {
    errors.push_back("data.means: expected a [K, D] array of arrays, got rank " + std::to_string(means.rank()));
    return;
  }
  int64_t k = means.shape()[0], d = means.shape()[1];
  try {
    scales = tensor_from_json(cfg["scales"]);
  } catch (const std::exception& e) {
    errors.push_back(std::string("data.scales: ") + e.what());
    return;
  }
  bool ok = (scales.rank() == 1 && scales.shape()[0] == k) || (scales.rank() == 2 && scales.shape() == means.shape());
  if (!ok) errors.push_back("data.scales: expected shape [" + std::to_string(k) + "] or [" + std::to_string(k) + ", " +
                            std::to_string(d) + "] to match data.means, got " + scales.shape().str());
  for (int64_t i = 0; i < scales.numel(); ++i)
    if (!(scales[i] > 0)) {
      errors.push_back("data.scales: expected positive standard deviations, got " + std::to_string(scales[i]));
      break;
    }
  if (!cfg["weights"].empty() && static_cast<int64_t>(cfg["weights"].size()) != k)
    errors.push_back("data.weights: expected " + std::to_string(k) + " weights (one per row of data.means), got " +
                     std::to_string(cfg["weights"].size()));
}

void check_file(const json& cfg, std::vector<std::string>& errors) {
  fs::path p = cfg["path"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(p, ec)) errors.push_back("data.path: file not found: " + p.string());
  else if (fs::is_directory(p, ec)) errors.push_back("data.path: is a directory, expected a file: " + p.string());
}

ad::Tensor<double> as_rows(ad::Tensor<double> x, const fs::path& file) {
  if (x.rank() == 1) return x.reshaped(ad::Shape{x.numel(), 1});
  if (x.rank() != 2) throw DataError(file, "expected a rank-1 or rank-2 array of examples, got shape " + x.shape().str());
  if (x.rows() == 0) throw DataError(file, "no examples (0 rows)");
  for (int64_t i = 0; i < x.numel(); ++i)
    if (!std::isfinite(x[i])) throw DataError(file, "non-finite value at row " + std::to_string(i / x.cols()) + ", column " +
                                                         std::to_string(i % x.cols()));
  return x;
}

// Bars and stripes (MacKay 2003): size x size binary images, either vertical bars (each column on or off with
// probability 1/2) or horizontal stripes (each row likewise), labelled 0 and 1; each pixel then flipped with
// probability `flip`. Binary, labelled, image-shaped and small enough to enumerate: what binary models (RBMs,
// Boltzmann machines) train on without a file.
Dataset load_bars_and_stripes(const json& cfg, ad::Rng& rng) {
  const int64_t n = cfg["n"], k = cfg["size"];
  const double flip = cfg["flip"];
  const bool spin = cfg["units"] == "spin";
  Dataset d;
  d.x = ad::Tensor<double>(ad::Shape{n, k * k});
  d.labels.resize(size_t(n));
  std::vector<bool> line(static_cast<size_t>(k));
  for (int64_t i = 0; i < n; ++i) {
    const bool stripes = rng.uniform() < 0.5;
    d.labels[size_t(i)] = stripes ? 1 : 0;
    for (int64_t l = 0; l < k; ++l) line[size_t(l)] = rng.uniform() < 0.5;
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < k; ++c) {
        bool on = line[size_t(stripes ? r : c)];
        if (flip > 0 && rng.uniform() < flip) on = !on;
        d.x.at(i, r * k + c) = on ? 1.0 : (spin ? -1.0 : 0.0);
      }
  }
  d.image_rows = d.image_cols = k;
  return d;
}

Dataset load_fashion(const json& cfg, ad::Rng& rng) {
  fs::path dir = cfg["dir"].get<std::string>();
  std::error_code ec;
  // A library or a CLI run never changes the system behind its user's back: the missing package is named, with the
  // command that installs it (scripts/setup.sh installs it too), and the run stops as bad input (exit 2).
  if (!fs::exists(dir, ec) && dir == data::kFashionMnistDir)
    throw DataError(dir, "Fashion-MNIST is not installed; install the Debian package with `sudo apt-get install "
                         "dataset-fashion-mnist` (or run scripts/setup.sh), or point data.dir at its IDX files");
  data::ImageLoadOptions opt;
  opt.split = cfg["split"].get<std::string>() == "test" ? data::Split::test : data::Split::train;
  opt.n = cfg["subset"].is_null() ? -1 : cfg["subset"].get<int64_t>();
  std::string px = cfg["pixels"];
  opt.pixels = px == "raw" ? data::PixelMode::raw
             : px == "binarized" ? data::PixelMode::binarized
             : px == "dequantized" ? data::PixelMode::dequantized
                                   : data::PixelMode::scaled;
  data::ImageDataset ds = data::load_fashion_mnist(dir, opt, &rng);
  Dataset d;
  d.x = ds.images;
  d.labels = ds.labels;
  d.image_rows = ds.rows, d.image_cols = ds.cols;
  return d;
}

}  // namespace

void register_data_sources(Registry& r) {
  r.data.push_back(toy("two_moons", "sklearn's two moons, scaled as in FFJORD", {{"noise", number("noise stddev", 0.1).non_negative()}},
                       [](const json& c, int64_t n, ad::Rng& g) { return data::two_moons(n, g, c["noise"]); }));
  r.data.push_back(toy("rings", "four concentric rings", {{"noise", number("noise stddev", 0.08).non_negative()}},
                       [](const json& c, int64_t n, ad::Rng& g) { return data::rings(n, g, c["noise"]); }));
  r.data.push_back(toy("eight_gaussians", "eight Gaussians on a circle", {{"std", number("stddev of each", 0.35355339059327373).positive()}},
                       [](const json& c, int64_t n, ad::Rng& g) { return data::eight_gaussians(n, g, c["std"]); }));
  r.data.push_back(toy("checkerboard", "uniform on the dark squares of a checkerboard on [-4, 4]^2", {},
                       [](const json&, int64_t n, ad::Rng& g) { return data::checkerboard(n, g); }));
  r.data.push_back(toy("swiss_roll", "the swiss roll, projected to 2-D", {{"noise", number("noise stddev", 1.0).non_negative()}},
                       [](const json& c, int64_t n, ad::Rng& g) { return data::swiss_roll(n, g, c["noise"]); }));
  r.data.push_back(toy("pinwheel", "a pinwheel of Gaussian arms",
                       {{"arms", integer("number of arms", 5).at_least(1)},
                        {"radial_std", number("radial stddev", 0.3).positive()},
                        {"tangential_std", number("tangential stddev", 0.1).positive()},
                        {"rate", number("twist rate", 0.25)}},
                       [](const json& c, int64_t n, ad::Rng& g) {
                         return data::pinwheel(n, g, c["arms"].get<int>(), c["radial_std"], c["tangential_std"], c["rate"]);
                       }));
  r.data.push_back(toy("two_spirals", "two interleaved spirals", {{"noise", number("noise stddev", 0.1).non_negative()}},
                       [](const json& c, int64_t n, ad::Rng& g) { return data::two_spirals(n, g, c["noise"]); }));

  Node vec = array_of("a row", number("", std::nullopt), std::nullopt);
  DataSource mix = toy("gaussian_mixture", "a Gaussian mixture in any dimension with given parameters; each point is labelled with its component",
                       {{"means", array_of("component means, [K, D]", vec, std::nullopt).items_between(1, 1000)},
                        {"scales", array_of("stddevs: [K] isotropic or [K, D] per axis", Node{}, std::nullopt).items_between(1, 1000)},
                        {"weights", array_of("mixture weights, [K] (empty: uniform)", number("", std::nullopt).non_negative(), json::array())}},
                       [](const json& c, int64_t n, ad::Rng& g) {
                         std::vector<double> w = c["weights"];
                         return data::gaussian_mixture(n, g, tensor_from_json(c["means"]), tensor_from_json(c["scales"]), w);
                       });
  mix.load = [](const json& c, ad::Rng& g) {
    Dataset d;
    ad::Tensor<double> means = tensor_from_json(c["means"]), scales = tensor_from_json(c["scales"]);
    std::vector<double> w = c["weights"];
    // The component of each point is its label (for classifiers / JEM).
    d.x = data::gaussian_mixture(c["n"].get<int64_t>(), g, means, scales, w, &d.labels);
    d.true_log_density = [=](const ad::Tensor<double>& x) { return data::gaussian_mixture_log_density(x, means, scales, w); };
    return d;
  };
  mix.check = check_mixture;
  r.data.push_back(std::move(mix));

  DataSource m1 = toy("mixture_1d", "a 1-D Gaussian mixture",
                      {{"means", array_of("component means", number("", std::nullopt), json::array({0.0})).items_between(1, 1000)},
                       {"stds", array_of("component stddevs", number("", std::nullopt).positive(), json::array({1.0})).items_between(1, 1000)},
                       {"weights", array_of("mixture weights (empty: uniform)", number("", std::nullopt).non_negative(), json::array())}},
                      [](const json& c, int64_t n, ad::Rng& g) {
                        std::vector<double> m = c["means"], s = c["stds"], w = c["weights"];
                        return data::mixture_1d(n, g, m, s, w);
                      });
  auto inner1 = m1.load;
  m1.load = [inner1](const json& c, ad::Rng& g) {
    Dataset d = inner1(c, g);
    std::vector<double> m = c["means"], s = c["stds"], w = c["weights"];
    ad::Tensor<double> means(ad::Shape{int64_t(m.size()), 1}, m.data()), scales(ad::Shape{int64_t(s.size())}, s.data());
    d.true_log_density = [=](const ad::Tensor<double>& x) { return data::gaussian_mixture_log_density(x, means, scales, w); };
    return d;
  };
  m1.check = [](const json& c, std::vector<std::string>& errors) {
    size_t k = c["means"].size();
    if (c["stds"].size() != k)
      errors.push_back("data.stds: expected " + std::to_string(k) + " values (one per mean), got " + std::to_string(c["stds"].size()));
    if (!c["weights"].empty() && c["weights"].size() != k)
      errors.push_back("data.weights: expected " + std::to_string(k) + " values (one per mean), got " + std::to_string(c["weights"].size()));
  };
  r.data.push_back(std::move(m1));

  r.data.push_back({"bars_and_stripes",
                    "size x size binary images of vertical bars or horizontal stripes (MacKay), labelled 0 (bars) or 1 (stripes)",
                    {n_field(),
                     {"size", integer("image width and height", 3).range(2, 16)},
                     {"flip", number("probability that a pixel is flipped after drawing", 0.0).range(0, 1)},
                     {"units", enumeration("pixel values: binary {0,1} or spin {-1,+1}", {"binary", "spin"}, "binary")}},
                    load_bars_and_stripes,
                    {}});
  r.data.push_back({"csv", "numeric CSV, one example per line (relative paths: from the experiment file's folder)",
                    {{"path", string("the CSV file", std::nullopt)}},
                    [](const json& c, ad::Rng&) {
                      fs::path p = c["path"].get<std::string>();
                      Dataset d;
                      d.x = as_rows(data::read_csv(p), p);
                      return d;
                    },
                    check_file,
                    true});
  r.data.push_back({"npy", "a NumPy .npy array [N, D] (relative paths: from the experiment file's folder)",
                    {{"path", string("the .npy file", std::nullopt)}},
                    [](const json& c, ad::Rng&) {
                      fs::path p = c["path"].get<std::string>();
                      Dataset d;
                      d.x = as_rows(data::read_npy(p), p);
                      return d;
                    },
                    check_file,
                    true});
  r.data.push_back({"fashion_mnist", "Fashion-MNIST 28x28 images (installed on demand from Debian's dataset-fashion-mnist)",
                    {{"split", enumeration("which split", {"train", "test"}, "train")},
                     {"subset", integer("keep the first N images (null: all)", std::nullopt).at_least(1).or_null()},
                     {"pixels", enumeration("pixel scaling", {"scaled", "binarized", "dequantized", "raw"}, "scaled")},
                     {"dir", string("folder holding the IDX files", data::kFashionMnistDir)}},
                    load_fashion,
                    {},
                    true});
}

}  // namespace ebm::experiment

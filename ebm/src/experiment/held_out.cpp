// The one notion of held-out data (evaluation.held_out) that every evaluation metric uses.
#include "ebm/experiment/train.hpp"

namespace ebm::experiment {

std::string held_out_mode(const json& cfg) {
  const std::string h = cfg["evaluation"]["held_out"];
  if (h != "auto") return h;
  const json& data = cfg["data"];
  if (data.contains("split")) return data["split"] == "train" ? "test" : "none";  // never the training split itself
  return registry().data_source(data["type"]).fixed ? "none" : "fresh";
}

template <class T>
std::string Session<T>::held_out_source() const {
  const std::string m = held_out_mode(cfg);
  return m == "test" ? "test_split" : m == "fresh" ? "fresh_draw" : "training_data";
}

template <class T>
const Dataset& Session<T>::held_out() {
  if (held_out_loaded_) return held_out_ ? *held_out_ : data;
  const std::string m = held_out_mode(cfg);
  json c = cfg["data"];
  if (m == "test") {
    c["split"] = "test";
    c["subset"] = nullptr;  // all of it (e.g. Fashion-MNIST's 10000 test images)
  }
  // "fresh": the source's own configuration on a stream of its own (the training draw uses kDataStream).
  if (m != "none") {
    ad::Rng rng(cfg["seed"].get<uint64_t>(), kHeldOutStream);
    held_out_ = registry().data_source(c["type"]).load(c, rng);
  }
  held_out_loaded_ = true;
  return held_out_ ? *held_out_ : data;
}

template <class T>
bool Session<T>::held_out_is_training_data() const {
  return held_out_mode(cfg) == "none";
}

template struct Session<float>;
template struct Session<double>;

}  // namespace ebm::experiment

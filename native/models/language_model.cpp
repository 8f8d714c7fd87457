#include "models/language_model.h"

#include <torch/types.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <sstream>

#include "common/error.h"
#include "models/autoencoder.h"
#include "models/linear_mixer.h"
#include "models/llama.h"
#include "models/masked_mixer.h"
#include "models/model_init.h"
#include "models/repeat_mixer.h"

namespace maskmix {

std::mutex& weightInitMutex() {
  static std::mutex m;
  return m;
}

void requireDeviceAvailable(const std::string& name) {
  at::Device device(name);
  if (!device.is_cuda()) return;
  require(torch::cuda::is_available(), "device '" + name + "' asked for, but " +
                                           (torch::cuda::device_count() == 0 ? std::string("this addon/libtorch sees no CUDA GPU") : std::string("CUDA is not available")) +
                                           " (maskmix doctor shows what was found)",
          "CUDA_UNAVAILABLE");
  require(!device.has_index() || device.index() < static_cast<int>(torch::cuda::device_count()),
          "device '" + name + "' does not exist: " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)", "CUDA_UNAVAILABLE");
}

namespace {
std::string shapeString(at::IntArrayRef s) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << "]";
  return out.str();
}
}  // namespace

std::shared_ptr<LanguageModel> buildModel(const ModelConfig& config) {
  require(config.vocabSize > 0 && config.dModel > 0 && config.nLayers > 0 && config.context > 0 && config.ffMultiplier > 0,
          "vocabSize, dModel, nLayers, context and ffMultiplier must be positive", "CONFIG_INVALID");
  require(config.padId >= 0 && config.padId < config.vocabSize, "padId must be a token id inside the vocabulary", "CONFIG_INVALID");
  at::Device device(config.device);
  requireDeviceAvailable(config.device);
  std::shared_ptr<LanguageModel> model;
  {
    std::lock_guard<std::mutex> lock(weightInitMutex());
    torch::manual_seed(config.seed);
    if (config.kind == "mixer") {
      model = std::make_shared<MaskedMixerLM>(config);
    } else if (config.kind == "llama") {
      model = std::make_shared<LlamaLM>(config);
    } else if (config.kind == "repeat") {
      model = std::make_shared<RepeatMixerLM>(config);
    } else if (config.kind == "autoencoder") {
      model = std::make_shared<MixerAutoencoderLM>(config);
    } else if (config.kind == "linear") {
      model = std::make_shared<LinearMixerLM>(config);
    } else {
      fail("CONFIG_INVALID", "unknown model kind '" + config.kind + "' (expected mixer, llama, repeat, linear or autoencoder)");
    }
    // Inside the lock: constructing the heads draws from the global generator before they are zeroed.
    require(config.predictTokens >= 1, "predictTokens must be ≥ 1", "CONFIG_INVALID");
    if (config.predictTokens > 1) model->addMultiTokenHeads();
  }
  require(config.dtype == "float32" || config.dtype == "float64", "dtype must be float32 or float64", "CONFIG_INVALID");
  model->to(device, config.dtype == "float64" ? at::kDouble : at::kFloat);
  return model;
}

void LanguageModel::addMultiTokenHeads() {
  mtp_heads = register_module("mtp_heads", torch::nn::ModuleList());
  torch::NoGradGuard noGrad;
  for (int64_t j = 0; j + 1 < config_.predictTokens; ++j) {
    torch::nn::Linear head(torch::nn::LinearOptions(config_.dModel, config_.dModel));
    head->weight.zero_();
    head->bias.zero_();
    mtp_heads->push_back(head);
  }
}

at::Tensor LanguageModel::offsetHidden(const at::Tensor& hidden, int64_t offset) {
  require(offset >= 1 && offset <= config_.predictTokens, "prediction offset must be in 1 … predictTokens", "INVALID_ARGUMENT");
  if (offset == 1) return hidden;
  return hidden + (*mtp_heads)[offset - 2]->as<torch::nn::Linear>()->forward(hidden);
}

at::Tensor LanguageModel::inputEmbedding() { fail("INVALID_ARGUMENT", "models of kind '" + config_.kind + "' have no input embedding table"); }

at::Tensor LanguageModel::hiddenFromEmbeddings(const at::Tensor&, int64_t) {
  fail("INVALID_ARGUMENT", "models of kind '" + config_.kind + "' cannot run from input embeddings");
}

void loadStateDict(LanguageModel& model, const std::map<std::string, at::Tensor>& tensors) {
  loadModuleState(model, tensors);
  model.afterLoad();
}

void loadModuleState(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors) {
  std::vector<std::string> problems;
  std::map<std::string, at::Tensor> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) targets[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets[item.key()] = item.value();
  for (const auto& [name, target] : targets) {
    auto found = tensors.find(name);
    if (found == tensors.end()) {
      problems.push_back("missing tensor " + name + " " + shapeString(target.sizes()));
    } else if (found->second.sizes() != target.sizes()) {
      problems.push_back(name + " has shape " + shapeString(found->second.sizes()) + ", the model needs " + shapeString(target.sizes()));
    } else if (!at::isFloatingType(found->second.scalar_type()) && at::isFloatingType(target.scalar_type())) {
      problems.push_back(name + " holds " + std::string(c10::toString(found->second.scalar_type())) + ", not floating point");
    }
  }
  for (const auto& [name, tensor] : tensors)
    if (!targets.count(name)) problems.push_back("unexpected tensor " + name + " " + shapeString(tensor.sizes()));
  if (!problems.empty()) {
    std::string message = "checkpoint does not fit the model:";
    size_t shown = 0;
    for (const auto& p : problems) {
      if (++shown > 12) {
        message += "\n  … and " + std::to_string(problems.size() - 12) + " more";
        break;
      }
      message += "\n  " + p;
    }
    fail("CHECKPOINT_INVALID", message);
  }
  torch::NoGradGuard noGrad;
  for (auto& [name, target] : targets) target.copy_(tensors.at(name).to(target.device(), target.scalar_type()));
}

}  // namespace maskmix

// The model of the ahead-of-time example: the course's 1D regression network (1-14-10-1, tanh
// then sigmoid, MSE loss, Adam). kiln_add_kernels runs this program at build time. It trains the
// network briefly on noisy samples of sin(x) (or takes --checkpoint <file> from an earlier run),
// saves the checkpoint beside the emitted files and bakes those weights into sine.cpp.
//
//   model --name sine --out-dir <folder> [--epochs 20] [--checkpoint <file.safetensors>]

#include <cmath>
#include <cstdio>
#include <string>

#include "aot/generator.h"
#include "frontend/kiln.h"
#include "io/data.h"
#include "trainer/trainer.h"

int main(int argc, char** argv) {
  using namespace kiln;
  return aot::generator_main(argc, argv, [](const aot::GeneratorArgs& args) {
    nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                       nn::Linear(10, 1)};
    // The emitted training step uses the same optimizer, so an application can go on training.
    auto adam = std::make_shared<optim::Adam>(1e-2);
    std::string checkpoint = args.value("--checkpoint");
    if (checkpoint.empty()) {
      const int epochs = std::stoi(args.value("--epochs", "20"));
      const data::Dataset train =
          data::regression_1d([](double x) { return std::sin(x); }, -3, 3, 500, 0.1, 1);
      Trainer trainer(net, Loss::mse(), adam);
      const History h = trainer.fit(
          train, nullptr, {.epochs = epochs, .batch_size = 10, .seed = 1, .progress = false});
      checkpoint = args.out_dir + "/" + args.name + ".safetensors";
      trainer.save(checkpoint);
      std::printf("model: trained %d epochs, training loss %.4f, saved %s\n", epochs,
                  h.epochs.back().train_loss, checkpoint.c_str());
    }
    aot::AotSpec spec;
    spec.net = net;
    spec.in_features = 1;
    spec.out_features = 1;
    spec.loss = Loss::mse();
    spec.optimizer = adam;
    spec.checkpoint = checkpoint;
    return spec;
  });
}

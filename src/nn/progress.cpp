#include "nn/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace loom::nn::internal {
namespace {

std::string seconds_text(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60, static_cast<int>(s) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%d:%02d", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%ds", static_cast<int>(std::lround(s)));
  return buf;
}

}  // namespace

std::string format_logs(const Logs& logs) {
  std::ostringstream out;
  // Keras order: loss first, then metrics, validation entries last.
  auto emit = [&](bool validation) {
    const std::string loss = validation ? "val_loss" : "loss";
    auto print = [&](const std::string& key, double value) {
      out << " - " << key << ": " << std::fixed;
      out.precision(4);
      out << value;
    };
    if (auto it = logs.find(loss); it != logs.end()) print(loss, it->second);
    for (const auto& [key, value] : logs) {
      if ((key.rfind("val_", 0) == 0) != validation || key == loss) continue;
      print(key, value);
    }
  };
  emit(false);
  emit(true);
  return out.str();
}

ProgressBar::ProgressBar(int epoch, int epochs, int64_t steps, int verbose)
    : epoch_(epoch), epochs_(epochs), steps_(steps), verbose_(verbose), interactive_(verbose == 1 && isatty(STDOUT_FILENO)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  if (verbose_ == 1 && interactive_) std::printf("Epoch %d/%d\n", epoch_ + 1, epochs_);
  std::fflush(stdout);
}

std::string ProgressBar::line(int64_t step, const Logs& logs, bool done) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::ostringstream out;
  const int width = static_cast<int>(std::to_string(steps_).size());
  char count[64];
  std::snprintf(count, sizeof count, "%*lld/%lld", width, static_cast<long long>(step), static_cast<long long>(steps_));
  out << count << " [";
  const int bar = 30;
  const int filled = steps_ > 0 ? static_cast<int>(bar * step / steps_) : bar;
  for (int i = 0; i < bar; ++i) out << (i < filled - 1 || (done && i < filled) ? '=' : (i == filled - 1 ? '>' : '.'));
  out << "] - ";
  if (done) {
    const double per_step = step > 0 ? elapsed / static_cast<double>(step) : 0.0;
    out << seconds_text(elapsed) << " " << static_cast<int>(std::lround(per_step * 1000)) << "ms/step";
  } else {
    const double eta = step > 0 ? elapsed / static_cast<double>(step) * static_cast<double>(steps_ - step) : 0.0;
    out << "ETA: " << seconds_text(eta);
  }
  return out.str() + format_logs(logs);
}

void ProgressBar::update(int64_t step, const Logs& logs) {
  if (!interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;  // throttle redraws
  last_draw_ = now;
  std::printf("\r%s\x1b[K", line(step, logs, false).c_str());
  std::fflush(stdout);
}

void ProgressBar::finish(const Logs& logs) {
  if (verbose_ == 0) return;
  if (interactive_) {
    std::printf("\r%s\x1b[K\n", line(steps_, logs, true).c_str());
  } else {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::printf("Epoch %d/%d - %lld steps - %s%s\n", epoch_ + 1, epochs_, static_cast<long long>(steps_),
                seconds_text(elapsed).c_str(), format_logs(logs).c_str());
  }
  std::fflush(stdout);
}

}  // namespace loom::nn::internal

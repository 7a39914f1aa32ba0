#include "util/scoped_source.h"

#include <utility>

namespace lk {

ScopedSource ScopedSource::timeout(GMainContext* context, unsigned interval_ms, Callback callback) {
  return attach(g_timeout_source_new(interval_ms), context, std::move(callback));
}

ScopedSource ScopedSource::idle(GMainContext* context, Callback callback, int priority) {
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, priority);
  return attach(source, context, std::move(callback));
}

ScopedSource ScopedSource::attach(GSource* source, GMainContext* context, Callback callback) {
  g_source_set_callback(
      source, [](gpointer data) -> gboolean { return (*static_cast<Callback*>(data))() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE; },
      new Callback(std::move(callback)), [](gpointer data) { delete static_cast<Callback*>(data); });
  g_source_attach(source, context);
  ScopedSource out;
  out.source_ = source;
  return out;
}

ScopedSource& ScopedSource::operator=(ScopedSource&& other) noexcept {
  if (this != &other) {
    reset();
    source_ = std::exchange(other.source_, nullptr);
  }
  return *this;
}

void ScopedSource::reset() {
  if (!source_) return;
  GSource* source = std::exchange(source_, nullptr);
  g_source_destroy(source);
  g_source_unref(source);
}

}  // namespace lk

#include "util/post.h"

namespace lk {

void post(GMainContext* context, std::function<void()> work) {
  using Work = std::function<void()>;
  GSource* source = g_idle_source_new();
  g_source_set_callback(
      source,
      [](gpointer data) -> gboolean {
        (*static_cast<Work*>(data))();
        return G_SOURCE_REMOVE;
      },
      new Work(std::move(work)), [](gpointer data) { delete static_cast<Work*>(data); });
  g_source_attach(source, context);
  g_source_unref(source);
}

}  // namespace lk

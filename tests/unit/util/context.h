// A fresh GMainContext, the calling thread's default while the test runs.
#pragma once

#include <glib.h>

#include <functional>

namespace lk::test {

class Context {
 public:
  Context() : context_(g_main_context_new()) { g_main_context_push_thread_default(context_); }
  ~Context() {
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_pop_thread_default(context_);
    g_main_context_unref(context_);
  }
  GMainContext* get() const { return context_; }

  // Iterates until pred() or timeout_ms; returns pred().
  bool run_until(const std::function<bool()>& pred, int timeout_ms = 5000) {
    gint64 deadline = g_get_monotonic_time() + gint64{timeout_ms} * 1000;
    while (!pred() && g_get_monotonic_time() < deadline)
      if (!g_main_context_iteration(context_, FALSE)) g_usleep(1000);
    return pred();
  }

 private:
  GMainContext* context_;
};

}  // namespace lk::test

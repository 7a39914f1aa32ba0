// Owns one GSource attached to a GMainContext. Destroying, resetting or
// reassigning the ScopedSource detaches the source, so its callback never
// runs after the owner is gone.
//
// Threads: the callback runs on the context's thread. Create, reset and
// destroy from any thread (GLib locks the context), but one ScopedSource is
// not itself thread-safe: guard it if several threads touch it. The callback
// may reset or replace the ScopedSource that runs it: GLib keeps the callback
// alive until it returns.
#pragma once

#include <glib.h>

#include <functional>

namespace lk {

class ScopedSource {
 public:
  using Callback = std::function<bool()>;  // true: run again; false: done

  ScopedSource() = default;
  // Every interval_ms until the callback returns false.
  static ScopedSource timeout(GMainContext* context, unsigned interval_ms, Callback callback);
  // Whenever the context has nothing of higher priority to do, until the
  // callback returns false.
  static ScopedSource idle(GMainContext* context, Callback callback, int priority = G_PRIORITY_DEFAULT_IDLE);

  ~ScopedSource() { reset(); }
  ScopedSource(ScopedSource&& other) noexcept : source_(other.source_) { other.source_ = nullptr; }
  ScopedSource& operator=(ScopedSource&& other) noexcept;
  ScopedSource(const ScopedSource&) = delete;
  ScopedSource& operator=(const ScopedSource&) = delete;

  void reset();
  // Holds a source (which may have finished: reset() to let it go).
  explicit operator bool() const { return source_ != nullptr; }

 private:
  static ScopedSource attach(GSource* source, GMainContext* context, Callback callback);

  GSource* source_ = nullptr;
};

}  // namespace lk

// Hands work to the thread that runs a GMainContext: how a layer's callbacks
// from other threads (or from inside a call that must return first) reach
// their owner.
//
// Threads: call from any thread; the work runs on the context's thread, at
// idle priority, in the order posted.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace lk {

void post(GMainContext* context, std::function<void()> work);

// Runs work(*target) on the context, unless target is gone by then: the
// owner may be destroyed while the work waits.
template <typename T>
void post_weak(GMainContext* context, std::weak_ptr<T> target, std::type_identity_t<std::function<void(T&)>> work) {
  post(context, [target = std::move(target), work = std::move(work)] {
    if (auto alive = target.lock()) work(*alive);
  });
}

}  // namespace lk

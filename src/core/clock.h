// Time points used across rampart. The request path reads the steady clock once per event
// (Worker::RefreshNow) and passes it down; code with time-based decisions takes a time point
// as an argument, so its tests give it one instead of sleeping.
#pragma once

#include <chrono>

namespace rampart {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

}  // namespace rampart

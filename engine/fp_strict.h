// Included first by the .cpp files that reproduce TF.js arithmetic bit for bit: JS evaluates every
// + and * with its own rounding, so a fused multiply-add would change results. GCC contracts only
// in GNU modes (-std=gnu++*) and only when FMA instructions are enabled; clang contracts within an
// expression by default. Turn contraction off in both cases.
#pragma once

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__) && defined(__FP_FAST_FMA)
#pragma GCC optimize("fp-contract=off")
#endif

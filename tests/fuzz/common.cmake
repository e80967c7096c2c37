# SPDX-License-Identifier: MIT
# common/ primitives.
nj_fuzz_target(fmt_float nj_common)

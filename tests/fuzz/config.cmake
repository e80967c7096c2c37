# SPDX-License-Identifier: MIT
nj_fuzz_target(config nj_config)

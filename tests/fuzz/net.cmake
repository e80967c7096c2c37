# SPDX-License-Identifier: MIT
nj_fuzz_target(http_request nj_net)

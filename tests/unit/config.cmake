# SPDX-License-Identifier: MIT
nj_unit_test(config nj_config)

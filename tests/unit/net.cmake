# SPDX-License-Identifier: MIT
nj_unit_test(net_url nj_net)
nj_unit_test(net_http nj_net)

# SPDX-License-Identifier: MIT
# common/ primitives.
foreach(t common_buf common_arena common_hash common_clock common_log common_json
          common_strparse common_metrics common_fmt_float)
  nj_unit_test(${t} nj_common)
endforeach()
# ~2.5 M values each run through the printf + strtod reference search.
math(EXPR t "240 * ${NJ_TIMEOUT_MULT}")
set_tests_properties(unit_common_fmt_float PROPERTIES TIMEOUT ${t})

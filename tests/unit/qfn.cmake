# SPDX-License-Identifier: MIT
# query/qfn: the function layer.  Every expected value in these tests was
# observed on influxd 1.6 (the query is written next to each case).
foreach(t qfn_bucket qfn_agg qfn_xform)
  nj_unit_test(${t} nj_query)
endforeach()

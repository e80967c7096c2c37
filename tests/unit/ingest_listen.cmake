# SPDX-License-Identifier: MIT
# ingest listeners (TCP, UDP) against a fake write engine defined in the test.
nj_unit_test(ingest_listen nj_ingest Threads::Threads)

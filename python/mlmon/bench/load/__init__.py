"""The drift service's load generators, run by ``mlmon bench`` (and by hand) as
``python -m mlmon.bench.load.wrk_bench`` (wrk, with the reference endpoints of ``ref_apps``) or
``python -m mlmon.bench.load.service_load`` (a Python httpx client, when wrk is not installed)."""

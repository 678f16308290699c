"""The roundtable domain: program config, schedule engine, business calendar,
deliverable rules and the store. Pure and synchronous: no Prefect, no web, no clock."""

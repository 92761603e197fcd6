"""The process runtime: how a run goes from launch to forked steps, in the stack's processes.

The databases' lifecycle is `pipelines.engines`; this package is the Dagster processes beside
them and the forks that keep a refresh from paying for its imports again and again.

1. `shopmarts up` (`pipelines.stack`) starts, through `dagster_processes`: the fork server
   (`forkserver`: imports dbt, Dagster, dagster-dbt and GX once, then forks a child per
   request), one code server (loads the definitions once and serves them over gRPC), and
   the daemon (schedules, sensors, the run queue).
2. A run is submitted to Dagster's run queue: by a schedule, by "Materialize" in the UI, or
   by `shopmarts refresh` (`pipelines.launch`). The queue's tag limit keeps refreshes from
   overlapping.
3. The daemon dequeues it and calls the instance's run launcher, `run_launcher.
   ForkedRunLauncher` (named in `dagster.yaml`): the run worker, `dagster api execute_run`,
   starts as a fork of the fork server (a new process when none answers), and its pid goes
   into the run's tags so run monitoring can fail a run whose worker died.
4. The run worker loads the job from the definitions' files and runs it with the
   forked-steps executor (`executor`): after the extract, each engine's steps run side by
   side (and the parity beside the two mart gates), each a fork of the run worker, each
   dying with it.
5. Inside the steps, dagster-dbt calls `shopmarts-dbt`, which is dbt run as a fork of the
   fork server again.

Every Dagster process of the stack (daemon, code server, run workers, steps, the CLI, the
UI) stores runs, events and step logs through `instance_storage` (named in `dagster.yaml`):
Dagster's SQLite storage and files, with connections kept open per process and step logs
written without mirror processes, so a refresh's few hundred events and ten steps cost
seconds less.

Beside them, `docs_server` serves the docs the runs write (GX Data Docs, dbt docs) over http
for the UI's links: a process of the stack like the others here, holding no data of its own;
the checks and assets below `pipelines.defs` only ask it for addresses (`docs_url`).

`dagster_private` is the only module of the project that imports Dagster's private API; each
name there says what it is for and why no public API does it.
"""

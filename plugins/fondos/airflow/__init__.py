"""The Airflow layer: the DAG's tasks (`dag_tasks`), the local Airflow used by
`make run`/`make airflow` and the tests (`local`), and what Airflow's processes
import (`preload`, `worker_host`, `redis_local`). It uses `fondos.pipeline`.

The folder is named for the layer; `import airflow` inside it still means
Apache Airflow (absolute imports)."""

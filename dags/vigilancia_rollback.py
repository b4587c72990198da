"""
### vigilancia_rollback

The plan's rollback trigger Escenario 1 (more than 50 % of a proceso's funds
failed within its first 2 hours), watched every 10 minutes while a day of
`procesos_diarios` runs. A trigger that fires is recorded once and its message
sent once through the morning message's channel. Created paused: unpause it
for the transition. See fondos.airflow.vigilancia.
"""

from fondos.airflow.vigilancia import build

dag = build()

"""The Spark session's JVMs lower-case text by a fixed locale, and a user's own settings still win."""

from __future__ import annotations

from stedi.engines.spark import FIXED_LOCALE, JVM_OPTION_KEYS, merged_conf


def test_the_driver_and_executors_run_in_the_fixed_locale() -> None:
    merged = merged_conf({"spark.ui.enabled": "false"}, None)
    assert merged["spark.ui.enabled"] == "false"
    for key in JVM_OPTION_KEYS:
        assert merged[key] == FIXED_LOCALE == "-Duser.language=en -Duser.country=US"


def test_a_users_settings_win_and_their_jvm_options_follow_the_locale() -> None:
    user = {"spark.ui.enabled": "true", "spark.executor.extraJavaOptions": "-XX:+UseG1GC -Duser.language=tr"}
    merged = merged_conf({"spark.ui.enabled": "false"}, user)
    assert merged["spark.ui.enabled"] == "true"
    assert merged["spark.executor.extraJavaOptions"] == f"{FIXED_LOCALE} -XX:+UseG1GC -Duser.language=tr"
    assert merged["spark.driver.extraJavaOptions"] == FIXED_LOCALE

"""A Spark failure reaches the user as one line: the JVM's exception and message, not its stack."""

from __future__ import annotations

from stedi.engines.spark import explain_jvm_error

JAVA_FAILURE = (
    "An error occurred while calling o98.append.\n"
    ": org.apache.iceberg.exceptions.ValidationException: Cannot use branch (does not exist): stedi-audit\n"
    "\tat org.apache.iceberg.exceptions.ValidationException.check(ValidationException.java:49)\n"
    "\tat org.apache.iceberg.spark.source.SparkTable.<init>(SparkTable.java:131)\n"
)


def test_a_jvm_error_is_its_exception_and_message() -> None:
    assert explain_jvm_error(RuntimeError(JAVA_FAILURE)) == (
        "org.apache.iceberg.exceptions.ValidationException: Cannot use branch (does not exist): stedi-audit"
    )


def test_other_errors_are_their_text_on_one_line() -> None:
    assert explain_jvm_error(ValueError("a\n  b")) == "a b"
    assert explain_jvm_error(ValueError("")) == "ValueError"
    assert len(explain_jvm_error(ValueError("x" * 5000))) == 500

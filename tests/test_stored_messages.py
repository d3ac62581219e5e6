"""English stored before anyone reads it (a job's failure reason, a check's finding) is read
back to its template, so it can be said in the reader's language (``messages.reread``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.messages import Message, joined, msg, reread, said, translate


def test_a_stored_reason_is_read_back_to_its_template_and_said_in_korean() -> None:
    stored = str(msg("cancelled by {user} before it started", user="researcher"))
    found = reread(stored)
    assert isinstance(found, Message)
    assert found.template == "cancelled by {user} before it started"
    assert found.values == {"user": "researcher"}
    assert said(stored, "ko") == "시작 전에 researcher님이 취소했습니다"
    assert said(stored, "en") == stored


def test_a_reason_that_holds_another_message_is_said_whole_in_korean() -> None:
    inner = msg(
        "ran out of memory: its {limit} limit was reached; ask for more memory_mb or "
        "read the data in parts",
        limit="512 MiB",
    )
    stored = str(msg("did not start: {reason}", reason=inner))
    assert said(stored, "ko") == (
        "시작하지 못했습니다: 메모리가 부족합니다. 한도 512 MiB에 다다랐습니다. "
        "memory_mb를 늘리거나 데이터를 나눠 읽으세요"
    )


def test_a_check_finding_stored_as_text_is_said_in_korean() -> None:
    finding = msg(
        "Column '{column}' of '{file}' is the direct identifier '{column}' of dataset "
        "'{dataset}'; drop it or release aggregates instead of rows.",
        column="patient_id",
        file="rows.csv",
        dataset="patient-visits",
    )
    assert said(str(finding), "ko") == (
        "'rows.csv'의 'patient_id' 열은 데이터셋 'patient-visits'의 직접 식별자 "
        "'patient_id'입니다. 이 열을 빼거나 행 대신 집계를 반출하세요."
    )


def test_text_that_is_no_template_stays_as_it_was() -> None:
    assert reread("A steward's own comment: fine.") == "A steward's own comment: fine."
    assert said("A steward's own comment: fine.", "ko") == "A steward's own comment: fine."
    assert said(None, "ko") == ""


def test_joined_messages_are_each_said_in_the_readers_language() -> None:
    problems = joined(
        [
            msg("cpus: this hub runs jobs on at most {cpus} cores", cpus=2),
            msg("memory_mb: at most {memory} MB per job", memory=4096),
        ]
    )
    assert (
        problems
        == "cpus: this hub runs jobs on at most 2 cores; memory_mb: at most 4096 MB per job"
    )
    assert translate(problems, "ko") == (
        "cpus: 이 허브는 작업당 최대 2코어로 실행합니다; memory_mb: 작업당 최대 4096MB"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_user_name_in_a_stored_reason_is_read_back_whole(user: str) -> None:
    stored = str(msg("cancelled by {user} before it started", user=user))
    found = reread(stored)
    if user:
        assert isinstance(found, Message)
        assert str(found) == stored
        assert said(stored, "ko").startswith("시작 전에 ")


def test_a_file_name_full_of_the_templates_words_is_read_in_one_pass() -> None:
    """A job names its own output files, and findings quote them: text a job author chose must
    not make rereading slow (it never backtracks) nor read as another message."""
    hostile = "x' of dataset 'y'; drop it or release aggregates instead of rows." * 2000
    stored = str(
        msg(
            "The name '{file}' carries {values} value(s) of column '{column}' of dataset "
            "'{dataset}'; name output files for what they hold, never for the rows they came "
            "from.",
            file=hostile,
            values="3",
            column="patient_id",
            dataset="patient-visits",
        )
    )
    found = reread(stored)
    assert str(found) == stored
    assert said(stored, "ko").startswith("파일 이름 '")

"""What the gateway says when it refuses a query reads in Korean for a Korean reader: the
allowlist's refusals, the disclosure rules on secure data, the agreement's hidden columns and
the engine's limits.  The English stays as it was (logs and the audit log keep it), and the
Korean says the same thing with the same names and numbers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.query.conftest import Ask, City, secure_grant

from bitgoeul.engine import locked
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.schemas import ApprovalConditions
from bitgoeul.messages import translate

OPEN = "household-electricity"
SURVEY = "income-survey"
VISITS = "clinic-visits"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _korean(error: BitgoeulError) -> str:
    korean = translate(error.message, "ko")
    assert HANGUL.search(korean), korean
    assert "{" not in korean
    return korean


@pytest.mark.parametrize(
    ("sql", "english", "korean"),
    [
        (
            "SELECT * FROM read_csv('/etc/passwd')",
            "is not available in the query gateway",
            "쿼리 게이트웨이에서는",
        ),
        (
            f'SELECT 1 FROM "{OPEN}"; SELECT 2',
            "send exactly one SELECT statement (found 2)",
            "2개가 있습니다",
        ),
        ("SELECT 1", "the query reads no dataset", "읽는 데이터셋이 없습니다"),
        ('SELECT * FROM "Not A Slug"', "is not a dataset slug", "데이터셋 슬러그가 아닙니다"),
        (f'SELECT date_part(kwh, now()) FROM "{OPEN}"', "needs a date part", "날짜 단위"),
    ],
)
def test_allowlist_refusals_read_in_korean(ask: Ask, sql: str, english: str, korean: str) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(sql)
    assert english in refused.value.message
    assert refused.value.message.startswith("Query refused: ")
    said = _korean(refused.value)
    assert said.startswith("쿼리 거부: ")
    assert korean in said


@pytest.mark.parametrize(
    ("sql", "korean"),
    [
        (f'SELECT * FROM "{SURVEY}"', "SELECT *는 행 단위 데이터를"),
        (
            f'SELECT district, max(income) FROM "{SURVEY}" GROUP BY district',
            "MAX()은(는) 쓸 수 없습니다",
        ),
        (f'SELECT name, count(*) FROM "{SURVEY}" GROUP BY name', "'name' 열은 직접 식별자"),
        (
            f'SELECT income, count(*) FROM "{SURVEY}" GROUP BY income',
            "GROUP BY 키(으)로 쓸 수 없습니다",
        ),
        (
            f'SELECT district, count(*) FROM "{SURVEY}" GROUP BY district HAVING count(*) > 1',
            "HAVING과 QUALIFY",
        ),
    ],
)
def test_disclosure_rule_refusals_read_in_korean(ask: Ask, sql: str, korean: str) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(sql, grants=secure_grant())
    assert refused.value.message.startswith("Secure data: ")
    said = _korean(refused.value)
    assert said.startswith("보안 데이터: ")
    assert korean in said


def test_a_hidden_column_is_named_in_korean(ask: Ask) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(
            f'SELECT name FROM "{VISITS}"',
            grants={VISITS: ApprovalConditions(columns=["district", "age"])},
        )
    assert "Column 'name' of dataset 'clinic-visits' is not visible" in refused.value.message
    assert "데이터셋 'clinic-visits'의 'name' 열을 볼 수 없습니다" in _korean(refused.value)


def test_the_engines_limits_read_in_korean(ask: Ask) -> None:
    tiny = locked.Limits(max_result_bytes=10)
    with pytest.raises(BitgoeulError) as refused:
        ask(f'SELECT * FROM "{OPEN}"', limits=tiny)
    assert refused.value.status_code == 413
    assert "결과가 게이트웨이 한도 0 MiB보다 큽니다" in _korean(refused.value)


def test_the_api_refuses_in_the_language_asked_for(client: TestClient, city: City) -> None:
    sql = f'SELECT * FROM "{OPEN}" WHERE kwh = 1; DROP TABLE x'
    english = client.post("/api/v1/query", json={"sql": sql})
    korean = client.post("/api/v1/query", json={"sql": sql}, headers={"Accept-Language": "ko"})
    assert english.status_code == korean.status_code == 422
    assert english.json()["detail"].startswith("Query refused: send exactly one SELECT")
    assert korean.json()["detail"].startswith("쿼리 거부: SELECT 문을 정확히 하나만")

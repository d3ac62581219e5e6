"""The licences a steward picks from: SPDX identifiers, and Korea's KOGL (공공누리) types as
``LicenseRef-`` identifiers, as SPDX writes licences it does not list.

The catalog stores any identifier that fits ``schemas.LICENCE_PATTERN`` (the API and the demo
may use others, such as ``proprietary``); the edit page offers these and keeps a dataset's
current licence selectable when it is not among them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str
    name: str
    name_ko: str


LICENCES = (
    Licence("CC-BY-4.0", "Creative Commons Attribution 4.0", "크리에이티브 커먼즈 저작자표시 4.0"),
    Licence(
        "CC-BY-SA-4.0",
        "Creative Commons Attribution Share Alike 4.0",
        "크리에이티브 커먼즈 저작자표시-동일조건변경허락 4.0",
    ),
    Licence(
        "CC-BY-NC-4.0",
        "Creative Commons Attribution Non Commercial 4.0",
        "크리에이티브 커먼즈 저작자표시-비영리 4.0",
    ),
    Licence(
        "CC-BY-ND-4.0",
        "Creative Commons Attribution No Derivatives 4.0",
        "크리에이티브 커먼즈 저작자표시-변경금지 4.0",
    ),
    Licence(
        "CC-BY-NC-SA-4.0",
        "Creative Commons Attribution Non Commercial Share Alike 4.0",
        "크리에이티브 커먼즈 저작자표시-비영리-동일조건변경허락 4.0",
    ),
    Licence(
        "CC-BY-NC-ND-4.0",
        "Creative Commons Attribution Non Commercial No Derivatives 4.0",
        "크리에이티브 커먼즈 저작자표시-비영리-변경금지 4.0",
    ),
    Licence("CC0-1.0", "Creative Commons Zero 1.0 (public domain)", "CC0 1.0 (퍼블릭 도메인)"),
    Licence(
        "ODbL-1.0",
        "Open Data Commons Open Database License 1.0",
        "ODC 오픈 데이터베이스 라이선스 1.0",
    ),
    Licence(
        "ODC-By-1.0", "Open Data Commons Attribution License 1.0", "ODC 저작자표시 라이선스 1.0"
    ),
    Licence(
        "PDDL-1.0", "Open Data Commons Public Domain Dedication 1.0", "ODC 퍼블릭 도메인 헌정 1.0"
    ),
    Licence(
        "LicenseRef-KOGL-Type1",
        "Korea Open Government Licence, Type 1 (attribution)",
        "공공누리 제1유형 (출처표시)",
    ),
    Licence(
        "LicenseRef-KOGL-Type2",
        "Korea Open Government Licence, Type 2 (attribution, non-commercial)",
        "공공누리 제2유형 (출처표시, 상업적 이용금지)",
    ),
    Licence(
        "LicenseRef-KOGL-Type3",
        "Korea Open Government Licence, Type 3 (attribution, no derivatives)",
        "공공누리 제3유형 (출처표시, 변경금지)",
    ),
    Licence(
        "LicenseRef-KOGL-Type4",
        "Korea Open Government Licence, Type 4 (attribution, non-commercial, no derivatives)",
        "공공누리 제4유형 (출처표시, 상업적 이용금지, 변경금지)",
    ),
)

LICENCE_IDS = frozenset(licence.id for licence in LICENCES)

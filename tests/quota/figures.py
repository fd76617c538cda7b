"""Real figures from the press (copied from the project's domain notes, so tests never read outside
the project): admissions against the plan, and the percentages the press printed."""
QUANG_NAM_2021 = {"admitted": 1732, "target": 1500, "percent": "115.47"}
QUANG_NAM_2022 = {"admitted": 1877, "target": 1500, "percent": "125.13"}
# By 2023-06-30, 4,537 = 60.5% of the 2020-2025 term target: a target of 7,500 gives 60.49 -> "60.5%".
QUANG_NAM_TERM = {"admitted_by_2023_06_30": 4537, "target": 7500, "percent": "60.49"}
TP_THANH_HOA_2024 = {"admitted": 762, "target": 712, "percent": "107.02"}  # the press: 107%
DONG_SON_2024 = {"admitted": 14, "target": 13, "percent": "107.69"}
QUANG_CAT_2024 = {"admitted": 13, "target": 10, "percent": "130.00"}
TP_THANH_HOA_2025_TARGET = 1100  # of the city merged with huyện Đông Sơn on 2025-01-01
DONG_SON_MERGER_DATE = "2025-01-01"

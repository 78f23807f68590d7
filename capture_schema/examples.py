"""Filled-in example of every form version: for the demo tablets, the docs and the tests."""

INSPECTED = "2026-03-02T09:30:00+08:00"

SAMPLE_DATA = {
    ("usage_inspection", 1): {"inspected_at": INSPECTED, "meter_number": "3300123456781",
                              "meter_reading": 12345.6, "seal_ok": True, "wiring_ok": False,
                              "findings": "计量柜门锁损坏", "defects": [{"description": "柜门锁损坏", "severity": "general"}]},
    ("usage_inspection", 2): {"inspected_at": INSPECTED, "inspection_type": "periodic",
                              "meter_number": "3300123456781", "meter_readings": {"total": 12345.6, "peak": 4000.1},
                              "seal_status": "intact", "seal_numbers": ["ZJ00012345"], "wiring_status": "correct",
                              "findings": "正常", "defects": [], "customer_signed": True},
    ("site_survey", 1): {"surveyed_at": INSPECTED, "application_no": "YK202603020001",
                         "requested_capacity_kva": 630, "supply_voltage": "10kV", "supply_point": "江南线 12 号杆",
                         "proposed_metering_method": "hv_lv", "transformer_needed": True},
    ("metering_check", 1): {"checked_at": INSPECTED, "meter_number": "3300123456781",
                            "meter_number_on_file": "3300123456781", "ct_ratio_found": "150/5",
                            "ct_ratio_on_file": "100/5", "seal_numbers": ["ZJ00012345"], "seals_intact": True,
                            "result": "abnormal", "notes": "CT 变比与档案不符"},
    ("defect_notice", 1): {"notice_no": "QX-2026-0001", "issued_at": INSPECTED, "defect": "配电室无防小动物措施",
                           "severity": "serious", "deadline": "2026-03-20", "customer_signed": True,
                           "customer_signatory": "王经理"},
    ("theft_evidence", 1): {"found_at": INSPECTED, "breach_type": "theft_bypass", "description": "表前接线绕越",
                            "estimated_period_start": "2025-12-01", "estimated_period_end": "2026-03-02",
                            "estimated_energy_kwh": 5200, "witnesses": [{"name": "李四", "role": "police"}]},
}

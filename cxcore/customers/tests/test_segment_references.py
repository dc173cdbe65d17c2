"""Segment rules name touchpoints and channels that exist."""

from cxcore.interactions.tests.factories import make_touchpoint
from cxcore.test import BaseTestCase


class SegmentReferenceTestCase(BaseTestCase):
    def test_it_refuses_a_segment_on_an_unknown_touchpoint_or_channel(self):
        make_touchpoint("lille-phone", kind="phone_reception")
        self.client.force_login(self.analyst)
        for rule, message in (
            ({"code": "nowhere", "days": 30}, "no touchpoint has the code 'nowhere'"),
            ({"code": "lille-phone", "days": 30}, None),
        ):
            response = self.client.post(
                "/api/segments",
                {
                    "name": f"Seg {rule['code']}",
                    "rules": [{"field": "touchpoint", "op": "within_days", "value": rule}],
                },
                content_type="application/json",
            )
            if message:
                self.assertEqual(response.status_code, 422)
                self.assertIn(message, response.json()["error"]["message"])
            else:
                self.assertEqual(response.status_code, 201)
        response = self.client.post(
            "/api/segments",
            {
                "name": "Fax users",
                "rules": [
                    {"field": "channel", "op": "within_days", "value": {"code": "fax", "days": 9}}
                ],
            },
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("unknown channel 'fax'", response.json()["error"]["message"])

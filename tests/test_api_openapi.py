"""The served OpenAPI document tells the truth about errors and uploads: every API
operation documents the error body of the contract for the statuses it can answer,
the CSV upload routes document their text/csv and multipart bodies, and real error
answers match the documented body."""

from __future__ import annotations

from typing import Any

from api_client import ApiClient
from test_api_leads import setup, upload

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429"}


async def _schema(app_client: ApiClient) -> dict[str, Any]:
    r = await app_client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


async def test_every_api_operation_documents_the_error_body(app_client: ApiClient) -> None:
    schema = await _schema(app_client)
    error_body = schema["components"]["schemas"]["ErrorBody"]
    assert set(error_body["required"]) == {"error", "detail"}
    assert {"field", "line"} <= set(error_body["properties"])
    operations = _operations(schema)
    assert len(operations) > 40
    for path, method, operation in operations:
        documented = ERROR_STATUSES & set(operation["responses"])
        assert "422" in documented, (method, path)
        for status in documented:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
                method,
                path,
                status,
            )
        is_public = (
            path.startswith("/api/v1/auth/")
            and method == "post"
            and (path.endswith("/login") or path.endswith("/token"))
        )
        if is_public:
            assert "429" in documented, (method, path)
        else:
            assert {"401", "403"} <= documented, (method, path)
        if "{" in path:
            assert "404" in documented, (method, path)


async def test_csv_uploads_document_their_bodies(app_client: ApiClient) -> None:
    schema = await _schema(app_client)
    for path in (
        "/api/v1/campaigns/{campaign_id}/leads",
        "/api/v1/dnc-services/{service_id}/numbers",
    ):
        operation = schema["paths"][path]["post"]
        body = operation["requestBody"]
        assert body["required"] is True
        assert body["content"]["text/csv"]["schema"]["type"] == "string"
        form = body["content"]["multipart/form-data"]["schema"]
        assert form["required"] == ["file"]
        assert {"413", "415"} <= set(operation["responses"]), path


async def test_real_errors_match_the_documented_body(app_client: ApiClient) -> None:
    admin, campaign_id, _ = await setup(app_client)
    answers = [
        await app_client.get("/api/v1/users"),  # 401
        await admin.get("/api/v1/users/999999"),  # 403 or 404
        await admin.get(f"/api/v1/campaigns/{campaign_id}/leads/999999"),  # 404
        await admin.patch(f"/api/v1/campaigns/{campaign_id}", json={"max_attempts": 0}),
        await upload(admin, campaign_id, "Ana,not-a-number\n"),  # 422 with a line
        await admin.post(
            f"/api/v1/campaigns/{campaign_id}/leads",
            content=b"x",
            headers={"Content-Type": "image/png"},
        ),  # 415
    ]
    statuses = [r.status_code for r in answers]
    assert statuses[0] == 401 and statuses[2] == 404 and statuses[3] == 422
    assert statuses[4] == 422 and statuses[5] == 415
    for r in answers:
        body = r.json()
        assert set(body) >= {"error", "detail"}, r.text
        assert isinstance(body["error"], str) and isinstance(body["detail"], str)
    assert answers[3].json()["field"] == "max_attempts"

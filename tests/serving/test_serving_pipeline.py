"""A scikit-learn Pipeline with a text feature (OneHotEncoder in a ColumnTransformer) deployed as skops
and served in-process: text values reach the model's own encoder, and a model that cannot take text
answers 422 naming the feature; as joblib it is served only once its digest is allowed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry
from serving_helpers import ADMIN, deploy_headers

from mlmon.serving import ServingSettings, create_app


@pytest.fixture(scope="module")
def pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    x = pd.DataFrame({"age": rng.normal(40, 9, 500), "plan": rng.choice(["free", "pro", "team"], 500)})
    y = ((x["age"] > 40) | (x["plan"] == "pro")).astype(int).to_numpy()
    encode = ColumnTransformer(
        [("plan", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression()).fit(x, y)


def test_text_features_reach_the_pipeline(pipeline: Any) -> None:
    import skops.io as sio

    data = sio.dumps(pipeline)
    app = create_app(ServingSettings(admin_token=ADMIN), CollectorRegistry())
    rows = [{"age": 30.0, "plan": "pro"}, {"age": 55.0, "plan": "free"}, {"age": 20.0, "plan": "unknown"}]
    with TestClient(app) as client:
        put = client.put("/admin/model", content=data, headers=deploy_headers(data, "p1", name="churn"))
        assert put.status_code == 200, put.text
        r = client.post("/predict", json={"rows": rows})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == pipeline.predict(pd.DataFrame(rows)).tolist()
        bad = client.post("/predict", json={"rows": [{"age": "old", "plan": "pro"}]})
        assert bad.status_code == 422 and "text values in feature 'age'" in bad.json()["detail"]


def test_joblib_is_served_only_when_its_digest_is_allowed(pipeline: Any) -> None:
    import hashlib
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(pipeline, buf)
    data = buf.getvalue()
    headers = deploy_headers(data, "j1", fmt="joblib")
    refused = create_app(ServingSettings(admin_token=ADMIN), CollectorRegistry())
    with TestClient(refused) as client:  # the admin token and its own digest are not enough
        assert client.put("/admin/model", content=data, headers=headers).status_code == 403
    allowed = ServingSettings(
        admin_token=ADMIN, allow_pickle=True, pickle_sha256=frozenset({hashlib.sha256(data).hexdigest()})
    )
    with TestClient(create_app(allowed, CollectorRegistry())) as client:
        put = client.put("/admin/model", content=data, headers=headers)
        assert put.status_code == 200, put.text
        r = client.post("/predict", json={"columns": {"age": [30.0, 60.0], "plan": ["team", "free"]}})
        assert r.status_code == 200 and r.json()["version"] == "j1", r.text

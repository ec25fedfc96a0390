"""`xlqe serve` end to end: a real server process on 127.0.0.1 over a real index of the sample corpus,
called with httpx as any app would, and its page driven in Debian's Chromium by Playwright."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from support.common import REPO, SAMPLE, run_xlqe
from support.server_process import ServerProcess

GERMAN = "Wie viele Interceptions hatte die Verteidigung der Panthers in der NFL?"
ARTIFACTS = REPO / ".test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "ix"
    # One vector per document keeps the build to seconds; the passage path is the engine's, tested elsewhere.
    run_xlqe("index", str(path), str(SAMPLE), "--no-passages", check=True)
    return path


@pytest.fixture(scope="module")
def server(index_dir: Path):
    with ServerProcess(index_dir) as proc:
        yield proc


@pytest.fixture
def api(server: ServerProcess):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
    assert server.alive(), "".join(server.log)


def _error(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and body["error"] == kind and body["message"], body
    assert "Traceback" not in response.text
    return body


def _raw_get(base: str, target: str) -> tuple[int, dict]:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        assert response.getheader("content-type", "").startswith("application/json")
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.model
def test_health_stats_and_openapi(api: httpx.Client) -> None:
    assert api.get("/health").json()["status"] == "ok"
    stats = api.get("/stats").json()
    assert stats["documents"] == 90 and stats["generation"] >= 1
    assert stats["languages"] == {lang: 10 for lang in "ar de en es hi ru th tr zh".split()}
    assert stats["model"]["encoder"] == "e5-small+use-v3" and stats["model"]["dims"] == 384 + 512  # the default encoder
    assert stats["modes"] == ["hybrid", "bm25", "dense"]
    schema = api.get("/openapi.json").json()
    assert {"/search", "/documents", "/documents/{doc_id}", "/stats", "/health", "/index"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/search"]["get"]["parameters"]}
    assert {"q", "k", "lang", "mode", "expand", "explain", "path"} <= params
    assert "access-control-allow-origin" not in api.get("/stats", headers={"Origin": "http://example.com"}).headers


@pytest.mark.model
def test_search_contract_cross_lingual(api: httpx.Client) -> None:
    body = api.get("/search", params={"q": GERMAN, "k": 5, "explain": 1}).json()
    assert body["query"]["lang"] == "de" and body["query"]["mode"] == "hybrid" and body["query"]["k"] == 5
    assert isinstance(body["took_ms"], float) and body["warnings"] == []
    assert len(body["hits"]) == 5 and body["hits"][0]["id"] == "xq-p000.de"
    for hit in body["hits"]:
        assert set(hit) >= {"id", "score", "lang", "path", "title", "snippet", "highlights", "passage", "metadata"}
        assert all(0 <= a < b <= len(hit["snippet"]) for a, b in hit["highlights"])
        assert "dense" in hit["explanation"] and hit["explanation"]["query_lang"] == "de"
    # The same question finds the Chinese paragraph, and its snippet marks what the languages share.
    zh = api.get("/search", params={"q": GERMAN, "lang": "zh", "k": 3}).json()
    assert [h["lang"] for h in zh["hits"]] == ["zh"] * 3 and zh["hits"][0]["id"] == "xq-p000.zh"
    top = zh["hits"][0]
    assert {top["snippet"][a:b] for a, b in top["highlights"]} == {"NFL"} and top["explanation"] is None
    several = api.get("/search", params=[("q", GERMAN), ("lang", "zh,th"), ("lang", "hi"), ("mode", "bm25")]).json()
    assert {h["lang"] for h in several["hits"]} <= {"zh", "th", "hi"} and several["query"]["mode"] == "bm25"
    dense = api.get("/search", params={"q": GERMAN, "mode": "dense", "k": 1, "explain": "true"}).json()
    assert dense["hits"][0]["id"].startswith("xq-p000.") and dense["hits"][0]["explanation"]["dense"]["rank"] == 1


@pytest.mark.model
def test_documents_and_filters(api: httpx.Client) -> None:
    doc = api.get("/documents/xq-p000.zh").json()
    assert doc["id"] == "xq-p000.zh" and doc["lang"] == "zh" and doc["text"].startswith("黑豹队")
    _error(api.get("/documents/no-such-doc"), 404, "not_found")
    # The sample's documents have no path: a path filter keeps none of them, and says how it filtered.
    body = api.get("/search", params={"q": GERMAN, "path": "/nowhere"}).json()
    assert body["hits"] == []


@pytest.mark.model
def test_every_bad_input_is_a_json_error_and_the_server_goes_on(api: httpx.Client, server: ServerProcess) -> None:
    cases = [
        ({"q": ""}, 422, "invalid_input"),
        ({"q": "   "}, 422, "invalid_input"),
        ({"q": "x", "mode": "fuzzy"}, 422, "invalid_parameter"),
        ({"q": "x", "lang": "xx"}, 422, "invalid_input"),
        ({"q": "x", "query_lang": "klingon"}, 422, "invalid_input"),
        ({"q": "x", "k": -1}, 422, "invalid_parameter"),
        ({"q": "x", "k": "ten"}, 422, "invalid_parameter"),
        ({"q": "x", "expand": "telepathy"}, 422, "invalid_input"),
        ({}, 422, "invalid_parameter"),
    ]
    for params, status, kind in cases:
        _error(api.get("/search", params=params), status, kind)
    # httpx refuses URLs over 64 KiB: the 100k-character query goes as a raw HTTP request.
    status, body = _raw_get(server.url, "/search?" + urllib.parse.urlencode({"q": "Panthers " * 11_112}))
    assert status == 422 and body["error"] == "invalid_input" and "100008 characters" in body["message"]
    json_headers = {"Content-Type": "application/json"}
    _error(api.post("/documents", content=b'{"documents": [', headers=json_headers), 400, "invalid_json")
    _error(api.post("/documents", content=b"\xff\xfe", headers=json_headers), 400, "invalid_json")
    _error(api.post("/documents", json={"documents": [{"id": "a"}]}), 422, "invalid_parameter")
    _error(api.post("/documents", json={"documents": [{"id": "a", "text": "t", "lang": "xx"}]}), 422, "invalid_input")
    _error(api.post("/documents", content=b"id=a&text=b", headers={"Content-Type": "application/x-www-form-urlencoded"}),
           415, "unsupported_media_type")
    _error(api.post("/documents", content=b"x" * (16 * 1024 * 1024 + 1), headers=json_headers), 413, "too_large")
    _error(api.post("/index", json={"paths": ["relative/folder"]}), 422, "invalid_input")
    _error(api.post("/index", json={"paths": ["/no/such/folder"]}), 422, "invalid_input")
    _error(api.get("/no/such/route"), 404, "not_found")
    _error(api.put("/search"), 405, "method_not_allowed")
    _error(api.get("/stats", headers={"Host": "attacker.example"}), 421, "host_not_allowed")
    assert api.get("/search", params={"q": GERMAN, "k": 1}).json()["hits"][0]["id"] == "xq-p000.de"
    assert server.alive() and api.get("/stats").json()["documents"] == 90


@pytest.mark.model
def test_writes_and_commits_from_elsewhere_are_seen_without_restart(api: httpx.Client, tmp_path: Path) -> None:
    before = api.get("/health").json()["generation"]
    doc = {"id": "note-1", "text": "Das Flusspferd Gustav schwimmt jeden Morgen im Zürichsee.", "metadata": {"title": "Gustav"}}
    added = api.post("/documents", json={"documents": [doc]}).json()
    assert added["added"] == 1 and added["generation"] == before + 1
    hit = api.get("/search", params={"q": "Flusspferd Gustav", "k": 1}).json()["hits"][0]
    assert hit["id"] == "note-1" and hit["lang"] == "de" and hit["title"] == "Gustav"
    assert api.get("/stats").json()["documents"] == 91
    assert api.delete("/documents/note-1").json()["deleted"] is True
    _error(api.delete("/documents/note-1"), 404, "not_found")
    assert all(h["id"] != "note-1" for h in api.get("/search", params={"q": "Flusspferd Gustav"}).json()["hits"])
    # A folder through the API, as `xlqe index` would read it; then `xlqe index` itself, in another process.
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "okapi.md").write_text("# Okapi\nThe okapi lives in the rainforests of the Congo.", encoding="utf-8")
    (folder / "blob.txt").write_bytes(b"\x00\x01binary")
    synced = api.post("/index", json={"paths": [str(folder)]}).json()
    assert synced["indexed"] == 1 and synced["skipped"] == 1, synced
    assert list(synced["skipped_by_reason"]) == ["binary"] and synced["generation"] > added["generation"] + 1
    # POST /index is a sync: a second call with nothing changed reads only the file it skipped before.
    again = api.post("/index", json={"paths": [str(folder)]}).json()
    assert again["indexed"] == 0 and again["unchanged"] == 1 and again["files_read"] == 1, again
    okapi = api.get("/search", params={"q": "okapi", "k": 1, "format": "md", "path": str(folder)}).json()["hits"][0]
    assert okapi["path"] == str(folder / "okapi.md") and okapi["title"] == "Okapi" and okapi["format"] == "markdown"
    assert api.get("/search", params={"q": "okapi", "format": "pdf"}).json()["hits"] == []
    (tmp_path / "more.jsonl").write_text(json.dumps({"id": "late", "text": "Der Kakapo ist ein flugunfähiger Papagei.",
                                                     "lang": "de"}) + "\n", encoding="utf-8")
    run_xlqe("index", str(api.get("/stats").json()["index"]), str(tmp_path / "more.jsonl"), check=True)
    assert api.get("/search", params={"q": "Kakapo Papagei", "k": 1}).json()["hits"][0]["id"] == "late"
    for doc_id in ("late", str(folder / "okapi.md")):
        assert api.delete(f"/documents/{doc_id}").json()["deleted"] is True
    assert api.get("/stats").json()["documents"] == 90


def test_watch_keeps_the_index_in_step_with_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "kiwi.txt").write_text("The kiwi is a flightless bird of New Zealand.", encoding="utf-8")
    index = tmp_path / "watched-ix"
    run_xlqe("index", str(index), str(folder), "--no-vectors", check=True)

    def ids(client: httpx.Client, query: str) -> list[str]:
        return [h["id"] for h in client.get("/search", params={"q": query, "mode": "bm25"}).json()["hits"]]

    def eventually(check, what: str) -> None:
        deadline = time.monotonic() + 60
        while not check():
            assert time.monotonic() < deadline, f"the watcher did not {what} within 60 s:\n{''.join(proc.log)}"
            time.sleep(0.2)

    with ServerProcess(index, "--no-llm", "--watch", str(folder)) as proc, \
            httpx.Client(base_url=proc.url, timeout=60) as client:
        assert ids(client, "kiwi") == [str(folder / "kiwi.txt")]
        (folder / "takahe.md").write_text("# Takahe\nThe takahe is a flightless swamphen.", encoding="utf-8")
        eventually(lambda: ids(client, "takahe") == [str(folder / "takahe.md")], "index a new file")
        (folder / "kiwi.txt").unlink()
        eventually(lambda: ids(client, "kiwi") == [], "remove a deleted file")
        assert proc.alive()


@pytest.mark.slow
@pytest.mark.model
def test_expanded_search_goes_through_the_llm_worker(index_dir: Path, tmp_path: Path) -> None:
    # A cache of its own (models are prepared into it too), so the expansion is really generated here.
    with ServerProcess(index_dir, env={"XLQE_CACHE_DIR": str(tmp_path / "cache")}) as proc, \
            httpx.Client(base_url=proc.url, timeout=300) as client:
        params = {"q": GERMAN, "lang": "zh", "expand": "translate", "budget": 60, "k": 3}
        body = client.get("/search", params=params).json()
        # Gemma 270M's German->Chinese attempt is cleaned away for this question; the English pivot is written.
        expansions = body["query"]["expansions"]
        assert {e["lang"] for e in expansions} == {"zh", "en"} and not any(e["cached"] for e in expansions), body
        assert any(e["texts"] for e in expansions) and body["warnings"] == [], body
        assert body["hits"][0]["id"] == "xq-p000.zh"
        again = client.get("/search", params=params).json()
        assert all(e["cached"] for e in again["query"]["expansions"]), again
        assert [h["id"] for h in again["hits"]] == [h["id"] for h in body["hits"]]
        assert proc.alive()


@pytest.mark.model
def test_writer_lock_held_elsewhere_is_409_and_changes_nothing(api: httpx.Client, index_dir: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from xlqe_lite import Index; "
                               f"ix = Index.open({str(index_dir)!r}, writer=True); print('held', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        generation = api.get("/health").json()["generation"]
        body = _error(api.post("/documents", json={"documents": [{"id": "x", "text": "Hallo Welt", "lang": "de"}]}),
                      409, "writer_busy")
        assert "writer lock" in body["message"] and "try again" in body["message"]
        _error(api.delete("/documents/xq-p000.de"), 409, "writer_busy")
        _error(api.post("/index", json={"paths": [str(SAMPLE)]}), 409, "writer_busy")
        assert api.get("/health").json()["generation"] == generation
        assert api.get("/search", params={"q": GERMAN, "k": 1}).json()["hits"][0]["id"] == "xq-p000.de"
    finally:
        holder.communicate("", timeout=30)
    assert api.get("/stats").json()["documents"] == 90


@pytest.mark.model
def test_load_16_clients_no_errors(server: ServerProcess) -> None:
    """16 concurrent clients × 30 hybrid queries (the sample's own sentences, many languages); bounded."""
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    queries = [d["text"].split("。")[0].split(". ")[0][:120] for d in lines]
    errors: list[str] = []
    answered = [0] * 16

    def client(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            for i in range(30):
                q = queries[(n * 30 + i) % len(queries)]
                r = c.get("/search", params={"q": q, "k": 10})
                if r.status_code != 200 or len(r.json()["hits"]) != 10:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                answered[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == [] and answered == [30] * 16
    assert server.alive()


@pytest.mark.model
def test_public_address_needs_a_token_and_a_token_is_enforced(index_dir: Path, tmp_path: Path) -> None:
    refused = run_xlqe("serve", str(index_dir), "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode != 0 and "--token-file" in refused.stderr
    short = tmp_path / "short"
    short.write_text("abc\n", encoding="utf-8")
    bad = run_xlqe("serve", str(index_dir), "--token-file", str(short), "--port", "0")
    assert bad.returncode != 0 and "at least 16 characters" in bad.stderr
    token_file = tmp_path / "token"
    token = "s3cret-token-for-the-test"
    token_file.write_text(token + "\n", encoding="utf-8")
    with ServerProcess(index_dir, "--token-file", str(token_file), "--no-llm") as proc:
        with httpx.Client(base_url=proc.url, timeout=60) as c:
            _error(c.get("/search", params={"q": "Panthers"}), 401, "unauthorized")
            assert c.get("/stats").headers["www-authenticate"] == "Bearer"
            _error(c.get("/stats", headers={"Authorization": "Bearer wrong-token-wrong-token"}), 401, "unauthorized")
            _error(c.get("/stats", headers={"Authorization": f"Basic {token}"}), 401, "unauthorized")
            ok = c.get("/search", params={"q": "Panthers", "k": 1}, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200 and ok.json()["hits"][0]["id"].startswith("xq-p000")
            assert c.get("/").status_code == 200  # the page holds no data; it asks for the token
            refused_expansion = c.get("/search", params={"q": "Panthers", "expand": "auto"},
                                      headers={"Authorization": f"Bearer {token}"})
            assert _error(refused_expansion, 422, "invalid_input")["message"].startswith("query expansion is off")
        assert proc.alive()


@pytest.mark.model
def test_page_in_headless_chromium(server: ServerProcess) -> None:
    """Type a German query, see the Chinese paragraph with its highlighted snippet; keyboard to the results."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1300})
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server.url) else None)
            page.goto(server.url + "/")
            page.wait_for_selector("#lang option[value=zh]", state="attached")
            page.fill("#q", GERMAN)
            page.keyboard.press("Enter")
            page.locator("article.hit").first.wait_for()
            assert "query read as German" in page.inner_text("#status")
            assert page.locator("article.hit").first.get_attribute("lang") == "de"
            page.screenshot(path=str(ARTIFACTS / "server-page.png"), full_page=False)
            # Only Chinese documents, from the keyboard: Tab to the language filter, then down into the results.
            page.focus("#lang")
            page.select_option("#lang", "zh")
            page.wait_for_function("() => { const a = [...document.querySelectorAll('article.hit')];"
                                   " return a.length > 0 && a.every(x => x.lang === 'zh'); }")
            zh = page.locator("article.hit").first
            assert zh.locator("mark").first.inner_text() == "NFL"
            assert zh.locator(".snippet").inner_text().startswith("黑豹队") and zh.get_attribute("dir") == "auto"
            page.focus("#q")
            page.keyboard.press("ArrowDown")
            assert page.evaluate("document.activeElement.lang") == "zh"
            page.keyboard.press("Enter")
            why = page.locator("article.hit:focus details")
            assert why.get_attribute("open") is not None and "meaning (dense vectors): rank 1" in why.inner_text()
            page.screenshot(path=str(ARTIFACTS / "server-page-zh.png"), full_page=False)
            page.keyboard.press("Escape")
            assert page.evaluate("document.activeElement.id") == "q"
            # Arabic results run right to left, each on its own (dir="auto"), in a font that has the script.
            page.select_option("#lang", "ar")
            page.wait_for_function("() => { const a = [...document.querySelectorAll('article.hit')];"
                                   " return a.length > 0 && a.every(x => x.lang === 'ar'); }")
            assert page.evaluate("getComputedStyle(document.querySelector('article.hit .snippet')).direction") == "rtl"
            assert page.evaluate("getComputedStyle(document.querySelector('#status')).direction") == "ltr"
            page.screenshot(path=str(ARTIFACTS / "server-page-ar.png"), full_page=False)
            assert external == []
        finally:
            browser.close()


def test_a_failing_request_is_a_json_500_and_the_app_goes_on(tmp_path: Path) -> None:
    """Whatever escapes a handler (an exception, or a BaseException such as a Rust panic surfaces as) is
    answered as JSON without a traceback; the same app serves the next request."""
    from xlqe_lite import Index
    from xlqe_lite.search import SearchEngine
    from xlqe_lite.server import ResidentEngine, ServerConfig, create_app

    with Index.create(tmp_path / "ix") as ix:
        ix.add("a", "Die Panthers gewannen.", lang="de")
    app = create_app(ResidentEngine(SearchEngine(Index.open(tmp_path / "ix"))), ServerConfig())

    class Panic(BaseException):
        pass

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/panic")
    def panic() -> None:
        raise Panic("rust panicked")

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return [await c.get("/boom"), await c.get("/panic"), await c.get("/search", params={"q": "Panthers"})]

    import asyncio

    boom_r, panic_r, ok = asyncio.run(calls())
    for r in (boom_r, panic_r):
        assert _error(r, 500, "internal_error") and "secret" not in r.text and "rust" not in r.text
    assert ok.status_code == 200 and ok.json()["hits"][0]["id"] == "a" and ok.json()["query"]["mode"] == "bm25"

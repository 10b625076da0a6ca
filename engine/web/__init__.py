"""The workbench: the web application and JSON API where the team does its work.

`engine.web.app.create_app(engine, config)` builds the ASGI application over one Engine
(`fulfil serve` runs it under uvicorn). The modules:

    credentials  password hashes (argon2id) and API tokens (SHA-256 digests) in the store
    auth         who is asking: signed session cookies, bearer tokens, a trusted SSO header;
                 CSRF tokens for every form
    http         engine errors as HTTP statuses and `{error: message}` bodies
    api          the JSON API under /api, mirroring the CLI's JSON
    worklist     "My work": the queues a person works, ready and in progress, paged
    forms        a trigger's form from the process's field types, and its values read back
    pages        the HTML pages (sign-in, my work, instance, process)

Nothing here is imported by the rest of the engine; this package imports FastAPI and Jinja2,
so the commands import it inside `fulfil serve` only. `credentials` alone stays light (the
`fulfil people` commands use it).
"""

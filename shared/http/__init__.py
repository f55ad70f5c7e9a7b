"""Every service's HTTP API, the same in both styles.

- web.py: the Flask app every service starts from: JSON errors, correlation ids, health, paging;
- api_models.py and openapi.py: the shapes the APIs answer with, and `/openapi.json` from them;
- validation.py: the public POST /orders body, checked and turned into a clean order;
- orders_api.py and order_waits.py: the public order API's shared parts, and its long polling;
- inspection.py: the read-only inspection API of each service.
"""

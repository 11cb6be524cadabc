"""The Flask app: the pages, the JSON API and its OpenAPI document, over the producer."""

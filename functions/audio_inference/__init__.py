"""Shared inference code for every compute variant.

The pure core (``audio``, ``model``, ``core``) takes bytes and returns a result;
``events``, ``storage`` and ``pipeline`` adapt it to S3 events, S3 and DynamoDB.
Nothing here imports pulumi or torch.
"""

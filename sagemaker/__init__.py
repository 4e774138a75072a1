"""SageMaker serving container for the shared inference code.

Not the SageMaker SDK: this package is only the serving app (``serve.py``) and
its Dockerfile. It imports the shared ``audio_inference`` package: installed in
the dev environment, copied into the image (``PYTHONPATH`` points at it), so
both run the same inference code.
"""

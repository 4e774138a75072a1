"""The local proof of concept: moto, a Runtime API per environment, SnapStart forks, the serving app."""

"""REST routes for the catalog."""

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])

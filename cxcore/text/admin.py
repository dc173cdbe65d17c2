"""The text area in the Django admin, to look only: topics change through their services (the
API), which re-read past texts; sentiment models through training."""

from django.contrib import admin

from cxcore.lib.admin import ReadOnlyAdmin
from cxcore.text.models import SentimentModel, TextAnalysis, Topic


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ["code", "name_en", "name_fr", "parent", "active", "position", "updated_at"]
    list_filter = ["active"]
    search_fields = ["code", "name_en", "name_fr"]


@admin.register(SentimentModel)
class SentimentModelAdmin(ReadOnlyAdmin):
    list_display = ["version", "active", "examples", "created_at", "created_by"]
    list_filter = ["active"]
    exclude = ["artefact"]  # megabytes of weights


@admin.register(TextAnalysis)
class TextAnalysisAdmin(ReadOnlyAdmin):
    list_display = ["pk", "answer_id", "interaction_id", "language", "sentiment", "score"]
    list_filter = ["sentiment", "language"]
    raw_id_fields = ["answer", "interaction"]

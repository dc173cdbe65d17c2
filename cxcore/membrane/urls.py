app_name = "membrane"

urlpatterns: list = []

from django.urls import path

from . import views

app_name = "articles"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("news/<str:info_code>/", views.ArticleDetailView.as_view(), name="article-short"),
    path("news/<str:info_code>/<slug:slug>/", views.ArticleDetailView.as_view(), name="article"),
    path("category/<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("tag/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("stock/<str:market>/<str:code>/", views.StockView.as_view(), name="stock"),
]

from django.views.generic import DetailView, ListView, TemplateView

from .models import Article


class HomeView(TemplateView):
    template_name = "articles/home.html"


class ArticleDetailView(DetailView):
    model = Article


class CategoryView(ListView):
    model = Article


class TagView(ListView):
    model = Article


class StockView(ListView):
    model = Article

"""The newsroom's roles. The 编辑 (editor) and 撰稿 (contributor) groups are brought up to date after
every migrate."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Concat, Trim

EDITOR_GROUP_NAME = "编辑"
CONTRIBUTOR_GROUP_NAME = "撰稿"

# Editors write and publish; they never manage users or groups, and withdraw rather than delete articles.
EDITOR_PERMISSIONS = {
    "article": ["add", "change", "view"],
    "category": ["add", "change", "view"],
    "tag": ["add", "change", "delete", "view"],
    "stockreference": ["add", "change", "view"],
    # What the import did, and the files it could not take: written by the import alone.
    "importrun": ["view"],
    "importproblem": ["view"],
}
EDITOR_EXTRA_PERMISSIONS = ["publish_article", "change_published_article"]

# Contributors write drafts and submit them for review (publishing.submit_for_review): they neither
# publish nor change what is published, and name tags as they write.
CONTRIBUTOR_PERMISSIONS = {
    "article": ["add", "change", "view"],
    "category": ["view"],
    "tag": ["add", "view"],
    "stockreference": ["add", "view"],
}


def ensure_editor_group(**kwargs):
    """The 编辑 and 撰稿 groups, with exactly the permissions above (run after every migrate)."""
    _ensure_group(CONTRIBUTOR_GROUP_NAME, CONTRIBUTOR_PERMISSIONS, [])
    return _ensure_group(EDITOR_GROUP_NAME, EDITOR_PERMISSIONS, EDITOR_EXTRA_PERMISSIONS)


def _ensure_group(name, model_permissions, extra):
    group, _ = Group.objects.get_or_create(name=name)
    codenames = [f"{action}_{model}" for model, actions in model_permissions.items() for action in actions]
    permissions = Permission.objects.filter(content_type__app_label="articles", codename__in=[*codenames, *extra])
    group.permissions.set(permissions)
    return group


@transaction.atomic
def create_member(username, last_name, first_name, email, group_name):
    """A new staff account in the group ``group_name``, named (姓 ``last_name``, 名 ``first_name``),
    and its password: random, so that no account anywhere starts with a password others know.
    An existing user name is refused, never changed."""
    model = get_user_model()
    if model.objects.filter(**{model.USERNAME_FIELD: username}).exists():
        raise ValidationError(f"用户 {username} 已存在，未作改动。")
    if not (last_name.strip() and first_name.strip()):
        raise ValidationError("请填写姓和名：它们是读者和其他编辑看到的名字。")
    user = model(**{model.USERNAME_FIELD: username}, last_name=last_name, first_name=first_name, email=email)
    user.is_staff = True
    password = secrets.token_urlsafe(12)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=group_name))
    return user, password


def person_name(user):
    """How a user is named to readers and other editors: the Chinese order (姓 then 名), or the
    user name when the account has no name."""
    return f"{user.last_name}{user.first_name}".strip() or user.get_username()


def users_named(name):
    """The users whose person_name() is ``name`` (a queryset): what a name written in an export
    (export_posts's ``responsible_editor``) can be matched back to. A user name counts only for an
    account without a name, as person_name() shows it only then."""
    users = get_user_model().objects.annotate(shown=Trim(Concat("last_name", "first_name")))
    return users.filter(Q(shown=name) | Q(shown="", **{get_user_model().USERNAME_FIELD: name}))

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from articles import roles


class Command(BaseCommand):
    help = (
        "Create an account of the 编辑 group (--contributor: 撰稿) that can log into the admin, with its "
        "姓 and 名; prints a new random password (its last line), once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--last-name", required=True, help="姓, shown as the author and as 责任编辑")
        parser.add_argument("--first-name", required=True, help="名")
        parser.add_argument("--email", default="")
        parser.add_argument("--contributor", action="store_true", help="a member of 撰稿, not 编辑")

    def handle(self, *args, username, last_name, first_name, email, contributor, **options):
        group = roles.CONTRIBUTOR_GROUP_NAME if contributor else roles.EDITOR_GROUP_NAME
        try:
            user, password = roles.create_member(username, last_name, first_name, email, group)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # For whoever runs it, a newcomer to the sample site or an editor-in-chief: in Chinese.
        self.stderr.write(
            f"已创建账号 {user.get_username()}（{roles.person_name(user)}，{group}组）。它的密码只显示这一次"
            "（登录后台后在右上角“修改密码”处改掉）："
        )
        self.stdout.write(password)

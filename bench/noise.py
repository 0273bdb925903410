"""A generator of realistic soldiers and of noisy (relative's query, medallion reading) pairs.

Soldiers of 1941 are built from parts so the population is large and realistic: Russian, Ukrainian,
Belarusian, Kazakh, Tatar and Bashkir surnames (roots × suffixes, compounds such as Легко+дым+ов),
first names drawn with a Zipf-like skew, patronymics from the father's name, birth years 1895–1926,
birthplaces with the oblasts and raions of the era.

Two kinds of damage are applied:

* the medallion reading (the registry side): lost letters as ``?``, lost runs as ``...``, handwriting
  confusions (и/н/п, ш/щ, л/п, т/ш, а/о), a clerk's spelling by ear (гк/хк, ай/аи, дж/ж, нб/мб),
  a lost year digit, initials, alternative readings, missing fields;
* the relative's query: Latin transliteration in many schemes (iuliia), today's Kazakh Cyrillic and the
  Kazakh 2021 Latin alphabet, declension ("ищу Легкодымова"), typos, name variants, missing fields, an
  approximate year, today's place names.

A third of the queries describe soldiers who are not in the registry. :func:`make_benchmark` takes one
seed; the DEV set and the TEST set use different seeds (see bench/README.md).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import iuliia

from bot.search import Query, Record

# ------------------------------------------------------------------------------------------- people

_RU_ROOTS = [
    "Иван",
    "Петр",
    "Сидор",
    "Смирн",
    "Кузнец",
    "Попов",
    "Васил",
    "Соколов",
    "Михайл",
    "Новик",
    "Федор",
    "Морозов",
    "Волков",
    "Алекс",
    "Лебед",
    "Семен",
    "Егор",
    "Павл",
    "Козл",
    "Степан",
    "Никола",
    "Орл",
    "Андре",
    "Макар",
    "Никит",
    "Захар",
    "Зайц",
    "Соловь",
    "Борис",
    "Яковл",
    "Григорь",
    "Роман",
    "Воробь",
    "Сергее",
    "Кузьм",
    "Фрол",
    "Александр",
    "Дмитри",
    "Корол",
    "Гусев",
    "Киселев",
    "Ильин",
    "Максим",
    "Поляк",
    "Сорокин",
    "Виноград",
    "Ковал",
    "Белов",
    "Медвед",
    "Антон",
    "Тарас",
    "Жук",
    "Фомин",
    "Данил",
    "Калин",
    "Тихон",
    "Крыл",
    "Гончар",
    "Богдан",
    "Бондар",
    "Мельник",
    "Шевч",
    "Ткач",
    "Савчен",
    "Лысен",
    "Руденк",
    "Марчен",
    "Кравч",
    "Карпен",
    "Грищен",
    "Остап",
    "Нестер",
    "Клим",
    "Игнат",
    "Голуб",
    "Журавл",
    "Щук",
    "Карась",
    "Ерш",
    "Окун",
    "Сом",
    "Налим",
    "Баран",
    "Бык",
    "Козлов",
    "Коров",
    "Быч",
    "Ворон",
    "Грач",
    "Дятл",
    "Сов",
    "Чиж",
    "Щегл",
    "Снегир",
    "Комар",
    "Мух",
    "Паук",
    "Шмел",
    "Пчел",
    "Пахом",
    "Прохор",
    "Трофим",
    "Ефим",
    "Евдоким",
    "Агафон",
    "Афанас",
    "Ермол",
    "Емельян",
    "Гаврил",
    "Демьян",
    "Кирилл",
    "Лаврент",
    "Лук",
    "Матве",
    "Мирон",
    "Назар",
    "Осип",
    "Савел",
    "Спиридон",
    "Терент",
    "Устин",
    "Филипп",
    "Харитон",
]
_RU_COMPOUND_HEADS = [
    "Легко",
    "Бело",
    "Черно",
    "Долго",
    "Криво",
    "Толсто",
    "Остро",
    "Сухо",
    "Добро",
    "Свято",
    "Перво",
    "Ново",
    "Старо",
    "Широко",
    "Мало",
]
_RU_COMPOUND_TAILS = [
    "дым",
    "ус",
    "нос",
    "губ",
    "голов",
    "руч",
    "ног",
    "бров",
    "зуб",
    "глаз",
    "плеч",
    "бород",
    "пуз",
    "кос",
    "лоб",
    "двор",
    "мир",
]
_RU_SUFFIXES = ("ов", "ев", "ин", "ский", "ых", "енков", "ушкин", "ишин")
_RU_INFIXES = ("ан", "ен", "ик", "ун", "ыш", "ул", "аш", "ич", "ушк", "енк")
# Syllables for the long tail of rare surnames (Бурдаков, Кочемасов): a registry of 1,000,000 readings
# holds about 130,000 distinct surnames, most of them rare.
_SYLLABLES = [
    "бур",
    "да",
    "ко",
    "че",
    "ма",
    "лы",
    "се",
    "ту",
    "ре",
    "ви",
    "зо",
    "ны",
    "па",
    "шу",
    "га",
    "до",
    "ле",
    "ми",
    "ро",
    "ба",
    "ку",
    "жи",
    "фе",
    "хо",
    "ля",
    "ще",
    "ча",
    "бо",
    "ра",
    "ти",
    "гу",
    "пе",
    "со",
    "ве",
    "ло",
    "на",
    "ду",
    "зе",
    "ры",
    "ца",
    "мо",
    "лу",
    "ки",
    "со",
    "ря",
    "бе",
    "ву",
    "го",
]
_UA_SUFFIXES = ("енко", "ук", "чук", "юк", "ко", "ский", "ич")
_KZ_ROOTS = (
    ("Кусаин", "Құсайын"),
    ("Жумабай", "Жұмабай"),
    ("Нурмаганбет", "Нұрмағанбет"),
    ("Ахмет", "Ахмет"),
    ("Сейткали", "Сейітқали"),
    ("Тулеген", "Төлеген"),
    ("Байжан", "Байжан"),
    ("Кайрат", "Қайрат"),
    ("Оспан", "Оспан"),
    ("Жакып", "Жақып"),
    ("Есенгали", "Есенғали"),
    ("Сулеймен", "Сүлеймен"),
    ("Габдулл", "Ғабдулл"),
    ("Исабек", "Исабек"),
    ("Мукан", "Мұқан"),
    ("Искак", "Ысқақ"),
    ("Турсун", "Тұрсын"),
    ("Нургали", "Нұрғали"),
    ("Касым", "Қасым"),
    ("Омар", "Омар"),
    ("Шаймерден", "Шаймерден"),
    ("Калиакбар", "Қалиақбар"),
    ("Абдрахман", "Әбдірахман"),
    ("Жусуп", "Жүсіп"),
    ("Куаныш", "Қуаныш"),
    ("Бекмухамед", "Бекмұхамед"),
    ("Утеген", "Өтеген"),
    ("Дюсембай", "Дүйсенбай"),
    ("Садвакас", "Сәдуақас"),
    ("Мусабек", "Мұсабек"),
    ("Койшыбай", "Қойшыбай"),
    ("Шукур", "Шүкір"),
    ("Кожахмет", "Қожахмет"),
    ("Уразбай", "Оразбай"),
    ("Ермек", "Ермек"),
    ("Султан", "Сұлтан"),
)
_KZ_HEADS = (
    ("Нур", "Нұр"),
    ("Жан", "Жан"),
    ("Бай", "Бай"),
    ("Жума", "Жұма"),
    ("Кул", "Құл"),
    ("Ес", "Ес"),
    ("Сей", "Сейі"),
    ("Тур", "Тұр"),
    ("Ораз", "Ораз"),
    ("Ак", "Ақ"),
    ("Кара", "Қара"),
    ("Бек", "Бек"),
    ("Ер", "Ер"),
    ("Сар", "Сар"),
    ("Тле", "Тілеу"),
    ("Кой", "Қой"),
    ("Мус", "Мұс"),
    ("Дос", "Дос"),
    ("Жак", "Жақ"),
    ("Кен", "Кен"),
    ("Ал", "Әл"),
    ("Ман", "Ман"),
    ("Шай", "Шай"),
    ("Ток", "Тоқ"),
)
_KZ_TAILS = (
    ("бек", "бек"), ("бай", "бай"), ("али", "әлі"), ("ген", "ген"), ("тай", "тай"), ("жан", "жан"),
    ("гали", "ғали"), ("кул", "құл"), ("мурат", "мұрат"), ("баев", "баев"), ("тас", "тас"), ("болат", "болат"),
)  # fmt: skip
_TT_ROOTS = [
    "Габдулл",
    "Хайрулл",
    "Сабир",
    "Шакир",
    "Зариф",
    "Мухамедзян",
    "Ибрагим",
    "Гиниятулл",
    "Валиулл",
    "Хабибулл",
    "Сафиулл",
    "Фатхулл",
    "Ахмадулл",
    "Закир",
    "Камал",
    "Нигматулл",
    "Шайхулл",
    "Ганиев",
    "Галиулл",
    "Мингаз",
    "Низам",
    "Рахим",
]

_RU_NAMES = [
    "Иван",
    "Николай",
    "Василий",
    "Михаил",
    "Александр",
    "Алексей",
    "Петр",
    "Федор",
    "Сергей",
    "Дмитрий",
    "Григорий",
    "Павел",
    "Степан",
    "Яков",
    "Андрей",
    "Егор",
    "Семен",
    "Тимофей",
    "Илья",
    "Максим",
    "Кузьма",
    "Емельян",
    "Афанасий",
    "Прохор",
    "Трофим",
    "Ефим",
    "Никита",
    "Матвей",
    "Гаврил",
    "Захар",
    "Тихон",
    "Филипп",
    "Лаврентий",
    "Макар",
    "Игнат",
    "Кирилл",
    "Роман",
    "Антон",
    "Борис",
    "Владимир",
    "Виктор",
    "Леонид",
]
_UA_NAMES = [
    "Иван",
    "Микола",
    "Петро",
    "Василь",
    "Михайло",
    "Григорий",
    "Олекса",
    "Омельян",
    "Остап",
    "Тарас",
    "Степан",
    "Федор",
    "Семен",
]
_KZ_NAMES = [
    "Жумабай",
    "Кусаин",
    "Ахмет",
    "Мухамед",
    "Касым",
    "Омар",
    "Абдулла",
    "Ибрагим",
    "Жусуп",
    "Султан",
    "Байжан",
    "Кайрат",
    "Тулеген",
    "Оспан",
    "Исмаил",
    "Хасан",
    "Нургали",
    "Сейткали",
    "Шаймерден",
    "Жакып",
    "Бекет",
    "Ермек",
    "Мурат",
    "Габит",
    "Садык",
    "Серик",
    "Асан",
    "Мукан",
]
_TT_NAMES = [
    "Габдулла",
    "Мухамед",
    "Хайрулла",
    "Ибрагим",
    "Шакир",
    "Сабир",
    "Закир",
    "Ахмет",
    "Фатих",
    "Рашид",
    "Шамиль",
    "Исмаил",
    "Юнус",
]
# Name variants a relative may type for the form on the insert (and the reverse).
_NAME_VARIANTS = {
    "Емельян": ("Омельян", "Емелиан"),
    "Иван": ("Иоанн",),
    "Яков": ("Иаков",),
    "Мухамед": ("Магомед", "Мухаммед", "Мухамет"),
    "Жумабай": ("Джумабай",),
    "Егор": ("Георгий",),
    "Федор": ("Фёдор", "Феодор"),
    "Семен": ("Семён", "Симеон"),
    "Петр": ("Пётр", "Петро"),
    "Николай": ("Микола",),
    "Михаил": ("Михайло",),
    "Василий": ("Василь",),
    "Жусуп": ("Юсуп", "Юсуф"),
    "Абдулла": ("Габдулла",),
    "Хасан": ("Асан", "Гасан"),
    "Ефим": ("Евфимий", "Юхим"),
    "Кузьма": ("Козьма",),
    "Гаврил": ("Гавриил", "Гаврила"),
}


@dataclass(frozen=True)
class Oblast:
    """An oblast of 1941 with its today's names and the raions of the era."""

    historical: str
    today: str
    today_kk: str
    raions: tuple[str, ...]
    people: str  # which surnames live there: "ru", "ua", "kz", "tt"


OBLASTS: tuple[Oblast, ...] = (
    Oblast(
        "Южно-Казахстанская обл.",
        "Туркестанская обл.",
        "Түркістан облысы",
        ("Сайрамский", "Ленгерский", "Туркестанский", "Тюлькубасский", "Келесский"),
        "kz",
    ),
    Oblast(
        "Гурьевская обл.", "Атырауская обл.", "Атырау облысы", ("Макатский", "Денгизский", "Исатайский"), "kz"
    ),
    Oblast("Алма-Атинская обл.", "Алматинская обл.", "Алматы облысы", ("Каскеленский", "Талгарский"), "kz"),
    Oblast("Акмолинская обл.", "Акмолинская обл.", "Ақмола облысы", ("Атбасарский", "Шортандинский"), "kz"),
    Oblast("Семипалатинская обл.", "Абайская обл.", "Абай облысы", ("Жарминский", "Аягузский"), "kz"),
    Oblast("Кустанайская обл.", "Костанайская обл.", "Қостанай облысы", ("Убаганский", "Федоровский"), "ru"),
    Oblast("Актюбинская обл.", "Актюбинская обл.", "Ақтөбе облысы", ("Мартукский", "Иргизский"), "kz"),
    Oblast("Карагандинская обл.", "Карагандинская обл.", "Қарағанды облысы", ("Тельманский",), "ru"),
    Oblast("Кзыл-Ординская обл.", "Кызылординская обл.", "Қызылорда облысы", ("Казалинский",), "kz"),
    Oblast("Джамбулская обл.", "Жамбылская обл.", "Жамбыл облысы", ("Меркенский", "Свердловский"), "kz"),
    Oblast("Павлодарская обл.", "Павлодарская обл.", "Павлодар облысы", ("Баянаульский", "Иртышский"), "kz"),
    Oblast(
        "Западно-Казахстанская обл.",
        "Западно-Казахстанская обл.",
        "Батыс Қазақстан облысы",
        ("Чапаевский",),
        "kz",
    ),
    Oblast(
        "Восточно-Казахстанская обл.",
        "Восточно-Казахстанская обл.",
        "Шығыс Қазақстан облысы",
        ("Зыряновский",),
        "ru",
    ),
    Oblast("Калининская обл.", "Тверская обл.", "Тверская обл.", ("Ржевский", "Бежецкий", "Кашинский"), "ru"),
    Oblast("Куйбышевская обл.", "Самарская обл.", "Самарская обл.", ("Сызранский", "Кинельский"), "ru"),
    Oblast(
        "Горьковская обл.", "Нижегородская обл.", "Нижегородская обл.", ("Арзамасский", "Лысковский"), "ru"
    ),
    Oblast("Сталинградская обл.", "Волгоградская обл.", "Волгоградская обл.", ("Камышинский",), "ru"),
    Oblast("Ленинградская обл.", "Ленинградская обл.", "Ленинградская обл.", ("Тихвинский", "Лужский"), "ru"),
    Oblast("Молотовская обл.", "Пермский край", "Пермский край", ("Кунгурский", "Осинский"), "ru"),
    Oblast("Чкаловская обл.", "Оренбургская обл.", "Оренбургская обл.", ("Бузулукский",), "ru"),
    Oblast("Тамбовская обл.", "Тамбовская обл.", "Тамбовская обл.", ("Моршанский",), "ru"),
    Oblast("Рязанская обл.", "Рязанская обл.", "Рязанская обл.", ("Касимовский",), "ru"),
    Oblast("Полтавская обл.", "Полтавская обл.", "Полтавська область", ("Лубенский", "Миргородский"), "ua"),
    Oblast("Харьковская обл.", "Харьковская обл.", "Харківська область", ("Изюмский",), "ua"),
    Oblast("Сталинская обл.", "Донецкая обл.", "Донецька область", ("Славянский",), "ua"),
    Oblast("Ворошиловградская обл.", "Луганская обл.", "Луганська область", ("Старобельский",), "ua"),
    Oblast("Татарская АССР", "Республика Татарстан", "Республика Татарстан", ("Чистопольский",), "tt"),
    Oblast("Башкирская АССР", "Республика Башкортостан", "Республика Башкортостан", ("Белебеевский",), "tt"),
)
# The second generation (``hard=True``, DEV2/TEST2) adds the soldiers of Uzbekistan, Kyrgyzstan,
# Turkmenistan and Tajikistan: written in Russified Cyrillic in 1941, typed today in the relatives' own
# alphabets. Each surname: (the clerk's form of 1941, today's form the relative types).
_CA_SURNAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "uz": (
        ("Ходжаев", "Xoʻjayev"), ("Кадыров", "Qodirov"), ("Рахимов", "Rahimov"), ("Усманов", "Usmonov"),
        ("Юлдашев", "Yoʻldoshev"), ("Турсунов", "Tursunov"), ("Каримов", "Karimov"), ("Назаров", "Nazarov"),
        ("Султанов", "Sultonov"), ("Гафуров", "Gʻafurov"), ("Шукуров", "Shukurov"), ("Хамидов", "Hamidov"),
        ("Мирзаев", "Mirzayev"), ("Ташпулатов", "Toshpoʻlatov"), ("Нурматов", "Nurmatov"),
        ("Эргашев", "Ergashev"), ("Хасанов", "Xasanov"), ("Абдуллаев", "Abdullayev"), ("Исмаилов", "Ismoilov"),
        ("Рузиев", "Roʻziyev"), ("Махмудов", "Mahmudov"), ("Джураев", "Joʻrayev"), ("Таджибаев", "Tojiboyev"),
        ("Холматов", "Xolmatov"), ("Акбаров", "Akbarov"), ("Зияев", "Ziyoyev"), ("Сабиров", "Sobirov"),
    ),
    "kg": (
        ("Омуров", "Өмүров"), ("Усенов", "Үсөнов"), ("Турдубеков", "Түрдүбеков"), ("Асанов", "Асанов"),
        ("Токтогулов", "Токтогулов"), ("Жумабеков", "Жумабеков"), ("Мамбетов", "Мамбетов"),
        ("Сыдыков", "Сыдыков"), ("Бообеков", "Бообеков"), ("Кулуев", "Күлүев"), ("Токтосунов", "Токтосунов"),
        ("Эсенгулов", "Эсенгулов"), ("Мукашев", "Мукашев"), ("Сатыбалдиев", "Сатыбалдиев"),
        ("Дуйшенбиев", "Дүйшөнбиев"), ("Шаршеналиев", "Шаршеналиев"), ("Бекболотов", "Бекболотов"),
        ("Жээнбеков", "Жээнбеков"), ("Курманалиев", "Курманалиев"), ("Осмонов", "Осмонов"),
        ("Тюлебердиев", "Төлөбердиев"), ("Мендибаев", "Меңдибаев"), ("Кененбаев", "Кеңенбаев"),
    ),
    "tm": (
        ("Аннаев", "Annaýew"), ("Оразов", "Orazow"), ("Бердыев", "Berdiýew"), ("Атаев", "Ataýew"),
        ("Чарыев", "Çaryýew"), ("Курбанов", "Gurbanow"), ("Ниязов", "Nyýazow"), ("Мамедов", "Mämmedow"),
        ("Ходжаев", "Hojaýew"), ("Довлетов", "Döwletow"), ("Сапаров", "Saparow"), ("Язмурадов", "Ýazmyradow"),
        ("Аманов", "Amanow"), ("Гельдыев", "Geldiýew"), ("Овезов", "Öwezow"), ("Мурадов", "Myradow"),
        ("Таганов", "Taganow"), ("Джумаев", "Jumaýew"), ("Байрамов", "Baýramow"), ("Какаев", "Kakaýew"),
        ("Реджепов", "Rejepow"), ("Халлыев", "Hallyýew"), ("Шихмурадов", "Şyhmyradow"),
    ),
    "tj": (
        ("Рахимов", "Раҳимзода"), ("Шарипов", "Шарифзода"), ("Назаров", "Назарзода"), ("Саидов", "Саидзода"),
        ("Каримов", "Каримзода"), ("Рахмонов", "Раҳмон"), ("Хакимов", "Ҳакимзода"), ("Нуралиев", "Нуралӣ"),
        ("Мирзоев", "Мирзо"), ("Султанов", "Султонзода"), ("Джураев", "Ҷӯразода"), ("Гафуров", "Ғафуров"),
        ("Умаров", "Умарзода"), ("Файзуллаев", "Файзулло"), ("Расулов", "Расулзода"), ("Ходжаев", "Хоҷаев"),
        ("Сафаров", "Сафарзода"), ("Шарифзаде", "Шарифзода"), ("Аминзаде", "Аминзода"), ("Турсунзаде", "Турсунзода"),
    ),
}  # fmt: skip
_CA_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "uz": (
        ("Ахмед", "Ahmad"), ("Рахим", "Rahim"), ("Хамид", "Hamid"), ("Турсун", "Tursun"), ("Юлдаш", "Yoʻldosh"),
        ("Каюм", "Qayum"), ("Шавкат", "Shavkat"), ("Эргаш", "Ergash"), ("Рустам", "Rustam"), ("Абдулла", "Abdulla"),
        ("Хасан", "Xasan"), ("Умар", "Umar"), ("Гулям", "Gʻulom"), ("Кадыр", "Qodir"), ("Маматкул", "Mamatqul"),
    ),
    "kg": (
        ("Асан", "Асан"), ("Усен", "Үсөн"), ("Токтогул", "Токтогул"), ("Омор", "Өмөр"), ("Бектур", "Бектур"),
        ("Жумабек", "Жумабек"), ("Дуйшен", "Дүйшөн"), ("Мамбет", "Мамбет"), ("Сагын", "Сагын"), ("Турдубек", "Түрдүбек"),
        ("Кубан", "Кубан"), ("Эсен", "Эсен"), ("Шаршен", "Шаршен"), ("Ысак", "Ысак"), ("Кенен", "Кеңен"),
    ),
    "tm": (
        ("Аннамурад", "Annamyrat"), ("Ораз", "Oraz"), ("Берды", "Berdi"), ("Ата", "Ata"), ("Чары", "Çary"),
        ("Курбан", "Gurban"), ("Нияз", "Nyýaz"), ("Мамед", "Mämmet"), ("Довлет", "Döwlet"), ("Сапар", "Sapar"),
        ("Аман", "Aman"), ("Гельды", "Geldi"), ("Овез", "Öwez"), ("Реджеп", "Rejep"), ("Байрам", "Baýram"),
    ),
    "tj": (
        ("Рахим", "Раҳим"), ("Шариф", "Шариф"), ("Назар", "Назар"), ("Саид", "Саид"), ("Карим", "Карим"),
        ("Рахмон", "Раҳмон"), ("Хаким", "Ҳаким"), ("Мирзо", "Мирзо"), ("Султон", "Султон"), ("Джура", "Ҷӯра"),
        ("Гафур", "Ғафур"), ("Умар", "Умар"), ("Сафар", "Сафар"), ("Файзулло", "Файзулло"), ("Амин", "Амин"),
    ),
}  # fmt: skip
# Oblasts of the Central Asian republics in 1941 (today's names: of the relative's country, in Russian).
CA_OBLASTS: tuple[Oblast, ...] = (
    Oblast("Ташкентская обл.", "Ташкентская обл.", "Toshkent viloyati", ("Чиназский", "Ахангаранский"), "uz"),
    Oblast("Самаркандская обл.", "Самаркандская обл.", "Samarqand viloyati", ("Ургутский", "Каттакурганский"), "uz"),
    Oblast("Ферганская обл.", "Ферганская обл.", "Fargʻona viloyati", ("Кувинский", "Риштанский"), "uz"),
    Oblast("Фрунзенская обл.", "Чуйская обл.", "Чүй облусу", ("Кантский", "Сокулукский"), "kg"),
    Oblast("Ошская обл.", "Ошская обл.", "Ош облусу", ("Узгенский", "Кара-Сууский"), "kg"),
    Oblast("Иссык-Кульская обл.", "Иссык-Кульская обл.", "Ысык-Көл облусу", ("Тюпский",), "kg"),
    Oblast("Ашхабадская обл.", "Ахалский велаят", "Ahal welaýaty", ("Бахарденский", "Гёкдепинский"), "tm"),
    Oblast("Марыйская обл.", "Марыйский велаят", "Mary welaýaty", ("Байрам-Алийский",), "tm"),
    Oblast("Ташаузская обл.", "Дашогузский велаят", "Daşoguz welaýaty", ("Куня-Ургенчский",), "tm"),
    Oblast("Сталинабадская обл.", "Районы республиканского подчинения", "Ноҳияҳои тобеи ҷумҳурӣ", ("Гиссарский",), "tj"),
    Oblast("Ленинабадская обл.", "Согдийская обл.", "Вилояти Суғд", ("Ура-Тюбинский", "Канибадамский"), "tj"),
    Oblast("Кулябская обл.", "Хатлонская обл.", "Вилояти Хатлон", ("Муминабадский",), "tj"),
)  # fmt: skip
_VILLAGE_HEADS = [
    "Кара",
    "Ак",
    "Кок",
    "Сары",
    "Ново",
    "Старо",
    "Красно",
    "Бело",
    "Верхне",
    "Нижне",
    "Больше",
    "Мало",
    "Покров",
    "Троиц",
    "Успен",
]
_VILLAGE_TAILS = [
    "булак",
    "су",
    "тобе",
    "агаш",
    "покровка",
    "ивановка",
    "камышин",
    "дубрава",
    "полье",
    "горка",
    "лесье",
    "озерск",
    "речье",
]
_WOMEN = [
    "Мария",
    "Анна",
    "Евдокия",
    "Прасковья",
    "Татьяна",
    "Ольга",
    "Нина",
    "Ирина",
    "Мадина",
    "Зейнеп",
    "Айша",
    "Бибигуль",
    "Кулян",
    "Фатима",
]
_KINSHIP = ("жена", "мать", "отец", "сестра", "брат", "дочь")


@dataclass(frozen=True)
class Soldier:
    """The truth about one man, in the spelling of his time."""

    surname: str
    surname_kk: str | None  # today's Kazakh spelling of the surname (Kazakh surnames only)
    name: str
    patronymic: str
    birth_year: int
    oblast: Oblast
    raion: str
    village: str
    relative: str
    family_place: str
    surname_today: str | None = None  # how a Central Asian relative types the surname today
    name_today: str | None = None


def _zipf(rng: random.Random, items: Sequence[str], skew: float = 1.0) -> str:
    weights = [1.0 / (i + 1) ** skew for i in range(len(items))]
    return rng.choices(items, weights)[0]


def _patronymic(father: str) -> str:
    if father.endswith("й"):
        return father[:-1] + "евич"
    if father.endswith("ья"):
        return father[:-2] + "ьич"
    if father.endswith(("а", "я")):
        return father[:-1] + "ич"
    if father.endswith("ь"):
        return father[:-1] + "евич"
    return father + "ович"


def _kz_suffix(root: str) -> str:
    return "ев" if root.endswith(("й", "ай", "ей")) else "ов" if root[-1] not in "аеиоуы" else "ев"


def _make_surname(rng: random.Random, people: str) -> tuple[str, str | None]:
    if people == "kz":
        if rng.random() < 0.75:
            root, root_kk = _KZ_ROOTS[min(int(rng.paretovariate(0.9)) - 1, len(_KZ_ROOTS) - 1)]
            if rng.random() < 0.5:
                root, root_kk = rng.choice(_KZ_ROOTS)
        else:
            head, head_kk = rng.choice(_KZ_HEADS)
            tail, tail_kk = rng.choice(_KZ_TAILS)
            root, root_kk = head + tail, head_kk + tail_kk
        suffix = _kz_suffix(root)
        if root.endswith("й"):
            return root[:-1] + "ев", root_kk[:-1] + "ев"
        return root + suffix, root_kk + suffix
    if people == "tt":
        root = rng.choice(_TT_ROOTS)
        return (root if root.endswith("ев") else root + rng.choice(("ин", "ов", "ев"))), None
    if people == "ua":
        root = _zipf(rng, _RU_ROOTS, 0.6)
        if rng.random() < 0.4:
            root = "".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize()
        return root.rstrip("ь") + rng.choice(_UA_SUFFIXES), None
    if rng.random() < 0.08:
        return rng.choice(_RU_COMPOUND_HEADS) + rng.choice(_RU_COMPOUND_TAILS) + "ов", None
    if rng.random() < 0.35:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3))))
        return word.capitalize() + rng.choice(("ков", "нов", "лов", "син", "рин", "тов", "шин")), None
    root = _zipf(rng, _RU_ROOTS, 0.9)
    if rng.random() < 0.3:
        root = root.rstrip("ь") + rng.choice(_RU_INFIXES)
    suffix = _zipf(rng, _RU_SUFFIXES, 1.3)
    if root.endswith(("ов", "ев", "ин")):
        suffix = ""
    if suffix in ("ский", "ых") and root.endswith(("ь", "й")):
        root = root[:-1]
    return root.rstrip("ь") + suffix if not root.endswith("ь") or suffix else root + "ев", None


def _central_asian_soldier(rng: random.Random) -> Soldier:
    oblast = rng.choice(CA_OBLASTS)
    people = oblast.people
    surname, surname_today = rng.choice(_CA_SURNAMES[people])
    name, name_today = _zipf_pair(rng, _CA_NAMES[people])
    father, _ = _zipf_pair(rng, _CA_NAMES[people])
    year = min(1926, max(1895, int(rng.triangular(1895, 1926, 1918))))
    raion = rng.choice(oblast.raions)
    village = rng.choice(_VILLAGE_HEADS) + rng.choice(_VILLAGE_TAILS)
    relative = f"{rng.choice(_KINSHIP)} {rng.choice(_WOMEN)}"
    family = f"{oblast.historical}, {raion} р-н, с. {village}"
    return Soldier(
        surname, None, name, _patronymic(father), year, oblast, raion, village, relative, family,
        surname_today, name_today,
    )  # fmt: skip


def _zipf_pair(rng: random.Random, items: Sequence[tuple[str, str]]) -> tuple[str, str]:
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(items))]
    return rng.choices(items, weights)[0]


def make_soldier(rng: random.Random, hard: bool = False) -> Soldier:
    """One man of 1941, in the spelling of his time (``hard``: a sixth from Central Asia)."""
    if hard and rng.random() < 0.15:
        return _central_asian_soldier(rng)
    oblast = rng.choice(OBLASTS)
    people = oblast.people if rng.random() < 0.8 else rng.choice(("ru", "ru", "ua", "kz", "tt"))
    surname, surname_kk = _make_surname(rng, people)
    names = {"ru": _RU_NAMES, "ua": _UA_NAMES, "kz": _KZ_NAMES, "tt": _TT_NAMES}[people]
    name = _zipf(rng, names, 0.8)
    father = _zipf(rng, names, 0.8)
    year = min(1926, max(1895, int(rng.triangular(1895, 1926, 1918))))
    raion = rng.choice(oblast.raions)
    village = rng.choice(_VILLAGE_HEADS) + rng.choice(_VILLAGE_TAILS)
    relative = f"{rng.choice(_KINSHIP)} {rng.choice(_WOMEN)}"
    family = f"{oblast.historical}, {raion} р-н, с. {village}"
    return Soldier(
        surname, surname_kk, name, _patronymic(father), year, oblast, raion, village, relative, family
    )


# ---------------------------------------------------------------------------------- medallion damage

_HANDWRITING = (
    ("и", "н"),
    ("н", "и"),
    ("и", "п"),
    ("п", "н"),
    ("ш", "щ"),
    ("щ", "ш"),
    ("л", "п"),
    ("т", "ш"),
)
_HANDWRITING += (("а", "о"), ("о", "а"), ("ш", "т"), ("е", "с"))
_BY_EAR = (("гк", "хк"), ("айн", "аин"), ("аин", "айн"), ("Дж", "Ж"), ("Ж", "Дж"), ("нб", "мб"), ("мб", "нб"))
_BY_EAR += (("ьян", "иан"), ("ё", "е"), ("тс", "ц"), ("сс", "с"), ("ай", "аи"), ("ей", "еи"), ("ы", "и"))


def ear_variant(rng: random.Random, word: str) -> str:
    """A clerk's spelling by ear: Легкодымов → Лехкодымов, Кусаинов → Кусайнов."""
    options = [(a, b) for a, b in _BY_EAR if a in word]
    if not options:
        return word
    a, b = rng.choice(options)
    return word.replace(a, b, 1)


def handwriting(rng: random.Random, word: str) -> str:
    """One handwriting confusion in a word."""
    spots = [(i, b) for i, ch in enumerate(word) for a, b in _HANDWRITING if ch == a and i > 0]
    if not spots:
        return word
    i, b = rng.choice(spots)
    return word[:i] + b + word[i + 1 :]


def lose_letters(rng: random.Random, word: str) -> str:
    """One or two letters lost to the ground: Легкод?мов."""
    if len(word) < 5:
        return word
    letters = list(word)
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(1, len(letters) - 1)
        letters[i] = "?"
    return "".join(letters)


def lose_run(rng: random.Random, word: str) -> str:
    """An unreadable run at the start or the end: Легко..., ...одымов."""
    if len(word) < 6:
        return word
    keep = rng.randint(3, len(word) - 2)
    return word[:keep] + "..." if rng.random() < 0.7 else "..." + word[-keep:]


# The second generation's damage (issue 14's kinds, numbered as there); applied only with ``hard``.
_CAPITALS = {
    "М": "Л", "Л": "М", "А": "О", "О": "А", "Б": "В", "В": "Б", "П": "Н", "Н": "П", "К": "Н", "Ш": "Щ",
    "Щ": "Ш", "Т": "Г", "Г": "Т", "С": "Е", "Е": "С", "Д": "Л", "И": "Н", "Ж": "Х", "Х": "Ж", "Р": "Б",
    "У": "Ч", "Ч": "У", "З": "Э", "Э": "З", "Ф": "Ф", "Я": "Л", "Ю": "Н", "Ц": "Щ", "Ы": "Ы",
}  # fmt: skip
_TAIL_CONFUSIONS = (("в", "б"), ("т", "ш"), ("и", "п"), ("н", "п"), ("о", "а"), ("л", "п"), ("а", "о"))


def lose_many(rng: random.Random, word: str) -> str:
    """Kind 1: two or three letters unreadable (Ко??ов, М?р?ов), the first one kept."""
    if len(word) < 5:
        return word
    letters = list(word)
    spots = rng.sample(range(1, len(letters)), min(len(letters) - 1, rng.choice((2, 2, 3))))
    for i in spots:
        letters[i] = "?"
    return "".join(letters)


def misread_first(rng: random.Random, word: str) -> str:
    """Kind 2: the first letter misread or lost (Лоисеев for Моисеев, ?аслов), at times a letter more."""
    if len(word) < 4:
        return word
    head = rng.choice(("?", _CAPITALS.get(word[0], "?"), _CAPITALS.get(word[0], "?")))
    word = head + word[1:]
    return lose_letters(rng, word) if rng.random() < 0.3 else word


def lost_start(rng: random.Random, word: str) -> str:
    """Kind 3: the start lost (...тникоб for Плотников), what is left read with a confusion at times."""
    if len(word) < 6:
        return word
    tail = word[-rng.randint(4, max(4, len(word) - 2)) :]
    if rng.random() < 0.5:
        spots = [(i, b) for i, ch in enumerate(tail) for a, b in _TAIL_CONFUSIONS if ch == a]
        if spots:
            i, b = rng.choice(spots)
            tail = tail[:i] + b + tail[i + 1 :]
    return "..." + tail


def misread_name(rng: random.Random, name: str) -> str:
    """Kind 5: a first name misread into another (Лихаил, Ман?им): its first letter, or two inside."""
    if len(name) < 4:
        return name
    if rng.random() < 0.6:
        return _CAPITALS.get(name[0], "?") + name[1:]
    i = rng.randrange(1, len(name) - 1)
    name = name[:i] + "?" + name[i + 1 :]
    return handwriting(rng, name)


def medallion_reading(rng: random.Random, soldier: Soldier, reading_id: str, hard: bool = False) -> Record:
    """What a search volunteer read from the man's medallion (``hard``: with the damage kinds 1-3 and 5)."""
    surname = soldier.surname
    roll = rng.random()
    if roll < 0.12:
        surname = ear_variant(rng, surname)
    elif roll < 0.22:
        surname = handwriting(rng, surname)
    elif roll < 0.32:
        surname = lose_letters(rng, surname)
    elif roll < 0.37:
        surname = lose_run(rng, surname)
    elif roll < 0.42:
        surname = f"{surname} ({handwriting(rng, surname)})"
    elif roll < 0.47:
        surname = f"{ear_variant(rng, surname)} / {surname}"
    name: str | None = soldier.name
    roll = rng.random()
    if roll < 0.12:
        name = soldier.name[0] + "."
    elif roll < 0.2:
        name = lose_letters(rng, soldier.name)
    elif roll < 0.27:
        name = None
    elif roll < 0.35:
        name = handwriting(rng, soldier.name)
    if hard:
        roll = rng.random()
        if roll < 0.1:
            surname = lose_many(rng, soldier.surname)
        elif roll < 0.18:
            surname = misread_first(rng, soldier.surname)
        elif roll < 0.25:
            surname = lost_start(rng, soldier.surname)
        if rng.random() < 0.1:
            name = misread_name(rng, soldier.name)
    patronymic: str | None = soldier.patronymic
    roll = rng.random()
    if roll < 0.3:
        patronymic = None
    elif roll < 0.4:
        patronymic = soldier.patronymic[0] + "."
    elif roll < 0.5:
        patronymic = lose_letters(rng, soldier.patronymic)
    year: str | None = str(soldier.birth_year)
    roll = rng.random()
    if roll < 0.15:
        i = rng.choice((2, 3))
        year = year[:i] + "?" + year[i + 1 :]
    elif roll < 0.35:
        year = None
    elif roll < 0.4:
        year = f"{soldier.birth_year} г.р."
    birthplace = None
    if rng.random() < 0.7:
        birthplace = f"{soldier.oblast.historical}, {soldier.raion} р-н"
        if rng.random() < 0.5:
            birthplace += f", с. {soldier.village}"
    draft = f"{soldier.raion} РВК" if rng.random() < 0.4 else None
    relative = soldier.relative if rng.random() < 0.3 else None
    family = soldier.family_place if rng.random() < 0.25 else None
    return Record(reading_id, surname, name, patronymic, year, birthplace, draft, relative, family)


# ----------------------------------------------------------------------------------- relative's side

_SCHEMES = (
    iuliia.WIKIPEDIA,
    iuliia.MOSMETRO,
    iuliia.ICAO_DOC_9303,
    iuliia.ISO_9_1954,
    iuliia.ALA_LC,
    iuliia.BGN_PCGN,
    iuliia.GOST_7034,
    iuliia.SCIENTIFIC,
    iuliia.TELEGRAM,
    iuliia.YANDEX_MAPS,
    iuliia.MVD_310_FR,
    iuliia.GOST_52535,
    iuliia.MVD_782,
    iuliia.BS_2979,
)
_KAZAKH_2021 = str.maketrans(
    {
        "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ж": "j", "з": "z",
        "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o", "ө": "ö",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h", "һ": "h",
        "ц": "ts", "ч": "ch", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e", "ю": "iu",
        "я": "ia", "ё": "io",
    }
)  # fmt: skip


def transliterate(rng: random.Random, text: str) -> str:
    """The text in Latin letters, in a random scheme."""
    return str(rng.choice(_SCHEMES).translate(text))


def kazakh_latin(text: str) -> str:
    """Today's Kazakh Cyrillic text in the Kazakh 2021 Latin alphabet."""
    out = text.lower().translate(_KAZAKH_2021)
    return out[:1].upper() + out[1:]


# Kazakh in Latin letters as passports and the street write it (not the 2021 alphabet): Қайырбеков →
# Kaiyrbekov or Kaiirbekov, Есен → Yesen.
_KAZAKH_PASSPORT = str.maketrans(
    {
        "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i", "ж": "zh",
        "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ю": "iu", "я": "ia", "ё": "io", "ъ": "",
        "ь": "", "э": "e", "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "з": "z", "и": "i",
        "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
        "ф": "f",
    }
)  # fmt: skip
# Today's Kazakh vowels where the clerk of 1941 wrote others (Қабдолов for Кабдулов, Өтегенов for Утегенов).
_KAZAKH_VOWELS = (("у", "о"), ("у", "ұ"), ("у", "ө"), ("ы", "і"), ("е", "ә"), ("и", "і"), ("а", "ә"))


def kazakh_passport(rng: random.Random, text: str) -> str:
    """Kind 6: today's Kazakh name in Latin letters as a passport writes it: ы and й as y or i, Е as Ye."""
    lower = text.lower()
    out = []
    for i, ch in enumerate(lower):
        if ch in "ый":
            out.append(rng.choice(("y", "i")))
        elif ch == "е" and i == 0:
            out.append("ye")
        else:
            out.append(ch.translate(_KAZAKH_PASSPORT))
    word = "".join(out)
    return word[:1].upper() + word[1:]


def kazakh_vowel(rng: random.Random, word: str) -> str:
    """Kind 6: one vowel as today's Kazakh has it against the clerk's (Кабдулов → Қабдолов)."""
    spots = [(i, b) for i, ch in enumerate(word.lower()) for a, b in _KAZAKH_VOWELS if ch == a]
    if not spots:
        return word
    i, b = rng.choice(spots)
    b = b.upper() if word[i].isupper() else b
    return word[:i] + b + word[i + 1 :]


def genitive(word: str) -> str:
    """The genitive a relative writes after "ищу": Легкодымов → Легкодымова, Емельян → Емельяна."""
    if word.endswith("ский"):
        return word[:-2] + "ого"
    if word.endswith(("ых", "их", "ко")):
        return word
    if word.endswith(("ов", "ев", "ин", "ын")) or word[-1] in "бвгджзклмнпрстфхцчшщ":
        return word + "а"
    if word.endswith("й"):
        return word[:-1] + "я"
    if word.endswith("ь"):
        return word[:-1] + "я"
    if word.endswith("а"):
        return word[:-1] + "ы"
    return word


def typo(rng: random.Random, word: str) -> str:
    """One keyboard typo: a letter dropped, doubled, swapped or replaced."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    alphabet = "абвгдеиклмнопрстуы" if not word.isascii() else "abdeiklmnoprstuy"
    return word[:i] + rng.choice(alphabet) + word[i + 1 :]


def relative_query(rng: random.Random, soldier: Soldier, hard: bool = False) -> Query:
    """What a relative types about the man, with the noise of memory, spelling and keyboards (``hard``:
    Central Asian alphabets, Kazakh in passport Latin and today's Kazakh vowels too)."""
    surname = soldier.surname
    name: str | None = soldier.name
    if rng.random() < 0.25:
        name = rng.choice(_NAME_VARIANTS.get(soldier.name, (soldier.name,)))
    patronymic: str | None = soldier.patronymic if rng.random() < 0.5 else None
    if rng.random() < 0.1:
        surname = ear_variant(rng, surname)
    roll = rng.random()
    if hard and soldier.surname_today is not None and roll < 0.75:
        surname = soldier.surname_today
        if soldier.name_today is not None and name is not None and rng.random() < 0.7:
            name = soldier.name_today
    elif soldier.surname_kk is not None and roll < 0.3:
        surname = soldier.surname_kk
        if hard and rng.random() < 0.4:
            surname = kazakh_vowel(rng, surname)
        if rng.random() < 0.35:
            if hard and rng.random() < 0.5:
                surname = kazakh_passport(rng, surname)
                name = kazakh_passport(rng, name) if name else None
            else:
                surname = kazakh_latin(surname)
                name = kazakh_latin(name) if name else None
    elif roll < 0.45:
        surname = genitive(surname)
        name = genitive(name) if name else None
        patronymic = genitive(patronymic) if patronymic else None
    elif roll < 0.75:
        surname = transliterate(rng, surname)
        name = transliterate(rng, name) if name else None
        patronymic = transliterate(rng, patronymic) if patronymic else None
    if rng.random() < 0.15:
        surname = typo(rng, surname)
    if name is not None and rng.random() < 0.08:
        name = typo(rng, name)
    if rng.random() < 0.08:
        name = None
    year: int | None = soldier.birth_year
    year_to: int | None = None
    roll = rng.random()
    if roll < 0.2:
        year = None
    elif roll < 0.35:
        year = soldier.birth_year + rng.choice((-2, -1, 1, 2))
    elif roll < 0.42:
        year, year_to = soldier.birth_year - rng.randint(0, 3), soldier.birth_year + rng.randint(0, 3)
    birthplace = None
    roll = rng.random()
    if roll < 0.35:
        birthplace = soldier.oblast.today
    elif roll < 0.5:
        birthplace = soldier.oblast.today_kk
    elif roll < 0.65:
        birthplace = f"{soldier.oblast.historical}, {soldier.raion} р-н"
    elif roll < 0.72:
        birthplace = transliterate(rng, soldier.oblast.today)
    relative = soldier.relative.split()[-1] if rng.random() < 0.2 else None
    family = f"{soldier.oblast.today}, с. {soldier.village}" if rng.random() < 0.2 else None
    return Query(
        surname=surname,
        name=name,
        patronymic=patronymic,
        birth_year=year,
        birth_year_to=year_to,
        birthplace=birthplace,
        relative=relative,
        family_place=family,
    )


# --------------------------------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class Case:
    """One query and the reading of its man (None when he is not in the registry); ``man`` is the truth
    about him, undamaged (bench/ceiling.py)."""

    query: Query
    truth: str | None
    man: Soldier | None = None


@dataclass(frozen=True)
class Benchmark:
    """A registry and labelled queries drawn with one seed; ``soldiers[i]`` is the man of ``records[i]``."""

    seed: int
    records: list[Record]
    cases: list[Case]
    soldiers: list[Soldier] = field(default_factory=list)


def make_registry(
    rng: random.Random, size: int, prefix: str = "r", hard: bool = False
) -> tuple[list[Soldier], list[Record]]:
    """``size`` soldiers and the readings of their medallions."""
    soldiers = [make_soldier(rng, hard) for _ in range(size)]
    records = [medallion_reading(rng, s, f"{prefix}{i}", hard) for i, s in enumerate(soldiers)]
    return soldiers, records


def make_benchmark(
    seed: int, registry_size: int = 20_000, queries: int = 2_000, absent: float = 1 / 3, hard: bool = False
) -> Benchmark:
    """A registry of ``registry_size`` readings and ``queries`` cases, ``absent`` of them about absent men.

    ``hard`` is the second generation (DEV2/TEST2): the damage kinds of issue 14 and Central Asian men;
    without it the stream of random numbers, and so the first DEV and TEST, are exactly as before.
    """
    rng = random.Random(seed)
    soldiers, records = make_registry(rng, registry_size, hard=hard)
    cases: list[Case] = []
    for _ in range(queries):
        if rng.random() < absent:
            stranger = make_soldier(rng, hard)
            cases.append(Case(relative_query(rng, stranger, hard), None, stranger))
        else:
            i = rng.randrange(len(soldiers))
            cases.append(Case(relative_query(rng, soldiers[i], hard), records[i].reading_id, soldiers[i]))
    return Benchmark(seed, records, cases, soldiers)


DEV_SEED = 20_241
TEST_SEED = 77_003
# The second generation, drawn from seeds nobody had used when it was written (2026-12-01); tune on DEV2
# only, report TEST2.
DEV2_SEED = 61_129
TEST2_SEED = 93_517
# Drawn on 2026-12-01 after TEST2 had been used to reject a strong cut-off (chosen on DEV2, it marked
# too many of TEST2's absent soldiers strong): the same generator as DEV2/TEST2, a seed nobody had used,
# measured once for the rule that replaced it.
TEST3_SEED = 40_417


def renamed(record: Record, reading_id: str) -> Record:
    """The same reading under another id."""
    return replace(record, reading_id=reading_id)


def write_registry_csv(records: Iterable[Record], path: Path) -> None:
    """Readings as a registry CSV with English headers, one column per field of `Record`."""
    columns = [column.name for column in fields(Record)]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([getattr(record, column) or "" for column in columns])

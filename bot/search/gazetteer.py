"""Historical and today's place names: the oblasts of 1941 and what they are called now.

A medallion says "Южно-Казахстанская обл."; the grandson types "Туркестанская область" or "Түркістан
облысы". Each region below lists the stems (in the spelling fold, so Kazakh letters and ё need no
entries of their own) of every name it carried, its centre and a few big towns. A place text is
reduced to the set of regions it names plus its remaining words (villages, raions), which are compared
fuzzily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import Levenshtein

from bot.search.spelling import fold, fold_variants

__all__ = [
    "DISTRICTS",
    "REGIONS",
    "PlaceProfile",
    "names_a_place_within",
    "place_profile",
    "place_region",
    "same_place",
    "segment_naming",
    "where_in",
]

# region id: stems of its names (historical and today's, Russian and Kazakh), its centre and big towns.
REGIONS: dict[str, tuple[str, ...]] = {
    "kz-turkestan": (
        "южноказахстан",
        "юко",
        "чимкент",
        "шимкент",
        "туркестан",
        "туркистан",
        "онтустикказакстан",
        "сайрам",
        "ленгер",
        "кентау",
        "арис",
        "сариагаш",
        "казигурт",
        "толеби",
        "тулкубас",
        "тулкибас",
        "отрар",
        "отирар",
        "байдибек",
        "мактаарал",
        "жетисаи",
        "сузак",
        "созак",
        "ордабаси",
        "шардара",
    ),
    "kz-kyzylorda": (
        "кзилорд",
        "кизилорд",
        "перовск",
        "казалинск",
        "аралск",
        "жалагаш",
        "шиели",
        "жанакорган",
    ),
    "kz-zhambyl": ("жамбул", "жамбил", "аулиеат", "тараз", "мирзоан", "меркен", "талас", "кордаи"),
    "kz-almaty": (
        "алмаат",
        "алмати",
        "верни",
        "жетису",
        "семиреч",
        "каскелен",
        "илиск",
        "иссик",
        "есик",
        "жаркент",
        "панфилов",
        "капал",
        "уштобе",
        "талдикурган",
        "талдикорган",
        "чилик",
        "шелек",
        "кеген",
        "нарикол",
    ),
    "kz-atyrau": ("гурев", "атирау", "доссор", "макат", "индер", "мангишлак", "мангистау", "фортшевченко"),
    "kz-west": ("западноказахстан", "зко", "уралск", "орал", "батисказакстан", "жамбеити", "чингирлау"),
    "kz-aktobe": ("актубинск", "актобе", "акбулак", "мугалжар", "темир", "иргиз", "шалкар", "челкар"),
    "kz-kostanay": ("кустанаи", "костанаи", "тургаи", "аркалик", "рудни", "житикар"),
    "kz-north": ("североказахстан", "ско", "солтустикказакстан", "петропавловск", "кизилжар", "булаево"),
    "kz-akmola": (
        "акмолинск",
        "акмол",
        "акмола",
        "целиноград",
        "астан",
        "нурсултан",
        "атбасар",
        "кокчетав",
        "кокшетау",
        "щучинск",
        "шучинск",
        "макинск",
        "ерементау",
        "степногорск",
    ),
    "kz-pavlodar": ("павлодар", "ермак", "аксу", "екибастуз", "баянаул", "баянауыл"),
    "kz-karaganda": (
        "караганд",
        "жезказган",
        "жезкасган",
        "балхаш",
        "балкаш",
        "улитау",
        "каркаралинск",
        "темиртау",
    ),
    "kz-east": (
        "восточноказахстан",
        "вко",
        "шигисказакстан",
        "устькаменогорск",
        "оскемен",
        "семипалатинск",
        "семипалат",
        "семеи",
        "абаиск",
        "абаи",
        "риддер",
        "лениногорск",
        "заисан",
        "зайсан",
        "аагуз",
        "аиагоз",
        "аиагуз",
        "зиран",
        "жарма",
        "урджар",
        "уржар",
        "шемонаиха",
        "кокпекти",
    ),
    "ru-tver": ("калинин", "твер", "ржев", "торжок", "бежецк", "вишневолоцк", "вишнииволочек", "кашин"),
    "ru-kaliningrad": ("калининград", "кенигсберг", "кенигсберг", "восточнапруссиа"),
    "ru-samara": ("куибишев", "самар", "сизран", "тольат"),
    "ru-nizhny": ("горьков", "горьки", "горки", "нижегород", "нижнииновгород", "арзамас", "дзержинск"),
    "ru-volgograd": ("сталинград", "волгоград", "цариц", "камишин", "урупинск"),
    "ru-leningrad": ("ленинград", "санктпетербург", "петербург", "петроград", "новгород", "псков", "тихвин"),
    "ru-moscow": ("москв", "московск", "подолск", "серпухов", "коломн"),
    "ru-sverdlovsk": ("свердловск", "екатеринбург", "нижнии тагил", "нижниитагил", "ирбит"),
    "ru-chelyabinsk": ("челабинск", "магнитогорск", "златоуст", "троицк"),
    "ru-omsk": ("омск", "тарск", "тара"),
    "ru-novosibirsk": ("новосибирск", "новониколаевск", "барабинск"),
    "ru-saratov": ("саратов", "енгельс", "балашов", "вольск"),
    "ru-orenburg": ("оренбург", "чкалов", "орск", "бузулук"),
    "ru-perm": ("перм", "молотов", "кунгур", "соликамск"),
    "ru-ulyanovsk": ("улановск", "симбирск"),
    "ru-kirov": ("кировск", "киров", "ватк", "ватск"),
    "ru-ivanovo": ("ивановск", "шуа", "кинешм"),
    "ru-smolensk": ("смоленск", "вазма", "рославл"),
    "ru-kaluga": ("калуг", "козелск", "сухиничи"),
    "ru-tula": ("тулск", "тула", "новомосковск", "сталиногорск"),
    "ru-ryazan": ("разан", "касимов"),
    "ru-voronezh": ("воронеж",),
    "ru-kursk": ("курск",),
    "ru-orel": ("орловск", "орел"),
    "ru-bryansk": ("бранск",),
    "ru-yaroslavl": ("арослав", "ривинск", "щербаков", "шербаков"),
    "ru-vologda": ("вологд", "череповец"),
    "ru-arkhangelsk": ("архангелск",),
    "ru-tatarstan": ("татар", "казан", "чистопол", "елабуг"),
    "ru-bashkortostan": ("башкир", "башкорт", "уфа", "уфимск", "стерлитамак"),
    "ru-altai": ("алтаиск", "барнаул", "биск"),
    "ru-krasnoyarsk": ("красноарск",),
    "ru-irkutsk": ("иркутск",),
    "ru-tambov": ("тамбов", "мичуринск"),
    "ru-penza": ("пенз",),
    "ru-krasnodar": ("краснодар", "кубан", "екатеринодар"),
    "ru-stavropol": ("ставропол", "орженикидзевск", "ворошиловск"),
    "ru-rostov": ("ростовск", "ростовнадону", "таганрог", "новочеркасск", "шахти"),
    "ua-kharkiv": ("харков", "харкив"),
    "ua-kyiv": ("киев", "киив"),
    "ua-poltava": ("полтав", "кременчуг"),
    "ua-vinnytsia": ("виниц", "виниц"),
    "ua-odesa": ("одес",),
    "ua-dnipro": ("днепропетровск", "днипропетровск", "днипро", "екатеринослав"),
    "ua-donetsk": ("сталино", "сталинск", "донецк", "донбас", "мариупол", "жданов"),
    "ua-luhansk": ("ворошиловград", "луганск", "лугансск"),
    "ua-zaporizhzhia": ("запорож", "запориж"),
    "ua-chernihiv": ("черниговск", "чернигов", "чернигив"),
    "ua-sumy": ("сумск", "суми"),
    "ua-zhytomyr": ("житомир",),
    "ua-kirovohrad": ("кировоград", "кропивниц", "елисаветград", "зиновевск"),
    "ua-mykolaiv": ("николаев", "миколаив"),
    "ua-kherson": ("херсон",),
    "by-minsk": ("минск",),
    "by-vitebsk": ("витебск", "вицебск"),
    "by-gomel": ("гомел",),
    "by-mogilev": ("могилев", "магилев"),
    # The Central Asian republics' oblasts of 1941–45 and today's names (viloyat, oblus, welaýat, вилоят),
    # as their own people write them (Toshkent, Чүй, Daşoguz) and in Russian. Мары is left out: folded it
    # is Марийская АССР too.
    "uz-tashkent": ("ташкент", "тошкент"),
    "uz-samarkand": ("самарканд",),
    "uz-fergana": ("фергана", "фаргона", "андижан", "андижон", "наманган", "коканд", "кукон"),
    "uz-bukhara": ("бухар", "бухоро"),
    "uz-khorezm": ("хорезм", "хоразм", "ургенч"),
    "uz-kashkadarya": ("кашкадар", "карши"),
    "uz-surkhandarya": ("сурхандар", "сурхондар", "термез"),
    "uz-karakalpakstan": ("каракалпак", "коракалпок", "нукус"),
    "kg-frunze": ("фрунзе", "бишкек", "пишпек", "киргиз", "чуи"),
    "kg-issykkul": ("исикул", "исикол", "пржевалск", "каракол"),
    "kg-osh": ("ошск", "жалалабад"),
    "kg-tianshan": ("таншан",),
    "tm-ashgabat": ("ашхабад", "ашгабат", "полторацк", "ахал"),
    "tm-mary": ("мерв",),
    "tm-dashoguz": ("ташауз", "дашогуз", "дашховуз"),
    "tm-lebap": ("чаржоу", "чаржуи", "лебап", "туркменабат"),
    "tm-balkan": ("красноводск", "туркменбаши"),
    "tj-dushanbe": ("сталинабад", "душанбе", "таджик", "республиканскогоподчинен", "нохиахоитобе"),
    "tj-leninabad": ("ленинабад", "согд", "сугд", "худжанд", "хужанд", "ходжент"),
    "tj-kulyab": ("кулаб", "хатлон", "кургантуб", "бохтар"),
    "tj-garm": ("гармск",),
}

# The districts (районы) of the Kazakh SSR of 1941–45 and of today, by the region they lie in: (the name,
# its adjective as a "р-н" is written), both spellings where a district was renamed or is written two ways
# (Щучинский → Бурабайский, Алексеевский → Аккольский, Качирский → Теренкольский, Чапаевский → Акжаикский).
# A place text naming one names its region. Names shared with places elsewhere (Глубокое, Лебяжье,
# Каратобе, Федоровка, Чапаевский) are left out: they would say a region the reading may not be in.
DISTRICTS: dict[str, tuple[tuple[str, str], ...]] = {
    "kz-akmola": (
        ("Шортанды", "Шортандинский"), ("Кургальджино", "Кургальджинский"), ("Коргалжын", "Коргалжынский"),
        ("Ерейментау", "Ерейментауский"), ("Акколь", "Аккольский"), ("Акколь", "Акколь"), ("Аршалы", "Аршалынский"),
        ("Бурабай", "Бурабайский"), ("Зеренда", "Зерендинский"), ("Егиндыколь", "Егиндыкольский"),
        ("Жаксы", "Жаксынский"), ("Жаркаин", "Жаркаинский"), ("Сандыктау", "Сандыктауский"),
        ("Буланды", "Буландынский"), ("Энбекшильдер", "Энбекшильдерский"), ("Селеты", "Селетинский"),
    ),
    "kz-pavlodar": (
        ("Иртышск", "Иртышский"), ("Качиры", "Качирский"), ("Теренколь", "Теренкольский"),
        ("Аккулы", "Аккулинский"), ("Щербакты", "Щербактинский"), ("Железинка", "Железинский"),
    ),
    "kz-karaganda": (
        ("Тельманский", "Тельманский"), ("Шетский", "Шетский"), ("Нуринский", "Нуринский"),
        ("Осакаровка", "Осакаровский"), ("Жана-Арка", "Жана-Аркинский"), ("Атасу", "Атасуский"),
        ("Бухар-Жырау", "Бухар-Жырауский"), ("Коунрад", "Коунрадский"), ("Егиндыбулак", "Егиндыбулакский"),
    ),
    "kz-east": (
        ("Зыряновск", "Зыряновский"), ("Бескарагай", "Бескарагайский"), ("Бородулиха", "Бородулихинский"),
        ("Катон-Карагай", "Катон-Карагайский"), ("Курчум", "Курчумский"), ("Тарбагатай", "Тарбагатайский"),
        ("Уланский", "Уланский"), ("Абралы", "Абралинский"), ("Чарск", "Чарский"), ("Маканчи", "Маканчинский"),
        ("Жанасемей", "Жанасемейский"),
    ),
    "kz-almaty": (
        ("Талгар", "Талгарский"), ("Энбекшиказахский", "Энбекшиказахский"), ("Уйгурский", "Уйгурский"),
        ("Райымбек", "Райымбекский"), ("Карасай", "Карасайский"), ("Алаколь", "Алакольский"),
        ("Саркан", "Сарканский"), ("Ескельды", "Ескельдинский"), ("Кербулак", "Кербулакский"),
        ("Текели", "Текелийский"),
    ),
    "kz-zhambyl": (
        ("Курдай", "Курдайский"), ("Сарысу", "Сарысуский"), ("Мойынкум", "Мойынкумский"),
        ("Байзак", "Байзакский"), ("Джувалы", "Джувалинский"), ("Жуалы", "Жуалынский"),
    ),
    "kz-turkestan": (
        ("Келес", "Келесский"), ("Бугунь", "Бугуньский"), ("Кзылкум", "Кзылкумский"),
        ("Пахтаарал", "Пахтааральский"), ("Чардара", "Чардаринский"),
    ),
    "kz-kyzylorda": (
        ("Кармакчи", "Кармакчинский"), ("Кармакшы", "Кармакшинский"), ("Яны-Курган", "Яны-Курганский"),
        ("Теренозек", "Теренозекский"),
    ),
    "kz-aktobe": (
        ("Мартук", "Мартукский"), ("Хромтау", "Хромтауский"), ("Байганин", "Байганинский"),
        ("Алгинский", "Алгинский"), ("Айтекеби", "Айтекебийский"), ("Хобдинский", "Хобдинский"),
        ("Кобдинский", "Кобдинский"),
    ),
    "kz-atyrau": (
        ("Денгиз", "Денгизский"), ("Исатай", "Исатайский"), ("Кзылкога", "Кзылкогинский"),
        ("Жылыой", "Жылыойский"), ("Махамбет", "Махамбетский"), ("Курмангазы", "Курмангазинский"),
        ("Баксай", "Баксайский"), ("Эмбенский", "Эмбенский"),
    ),
    "kz-west": (
        ("Акжаик", "Акжаикский"), ("Джаныбек", "Джаныбекский"), ("Казталовка", "Казталовский"),
        ("Теректы", "Теректинский"), ("Бурлин", "Бурлинский"), ("Таскала", "Таскалинский"),
        ("Сырым", "Сырымский"), ("Бокейорда", "Бокейординский"), ("Урдинский", "Урдинский"),
    ),
    "kz-kostanay": (
        ("Убаган", "Убаганский"), ("Карабалык", "Карабалыкский"), ("Мендыкара", "Мендыкаринский"),
        ("Наурзум", "Наурзумский"), ("Амангельды", "Амангельдинский"), ("Аулиеколь", "Аулиекольский"),
        ("Камысты", "Камыстинский"),
    ),
    "kz-north": (
        ("Мамлютка", "Мамлютский"), ("Пресновка", "Пресновский"), ("Кзылту", "Кзылтуский"),
        ("Айыртау", "Айыртауский"), ("Аккайын", "Аккайынский"), ("Тайынша", "Тайыншинский"),
        ("Уалиханов", "Уалихановский"), ("Мусрепов", "Мусреповский"),
    ),
}  # fmt: skip


def _district_stem(name: str, adjective: str) -> str:
    """What the name and its adjective share in the spelling fold (Шортанды, Шортандинский: шортанди);
    the adjective without its ending when they share too little (Аккольский: акольск)."""
    a, b = fold(name), fold(adjective)
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    if n >= 5:
        return a[:n]
    return re.sub(r"и$", "", b)


# Words that name the kind of place, not the place.
_GENERIC = frozenset(
    fold(w)
    for w in [
        "область",
        "oblast",
        "обл",
        "обл.",
        "облысы",
        "облисы",
        "облусу",
        "велаят",
        "велаяты",
        "welaýaty",
        "velayat",
        "вилоят",
        "вилояти",
        "viloyati",
        "районы",
        "rayony",
        "ҷумҳурӣ",
        "ҷумҳурии",
        "kraĭ",
        "край",
        "АССР",
        "ССР",
        "республика",
        "респ",
        "район",
        "р-н",
        "рн",
        "ауданы",
        "аудан",
        "раион",
        "город",
        "г",
        "гор",
        "село",
        "с",
        "аул",
        "деревня",
        "дер",
        "д",
        "поселок",
        "пос",
        "п",
        "станица",
        "ст",
        "колхоз",
        "совхоз",
        "улица",
        "ул",
        "дом",
        "кв",
        "РВК",
        "ГВК",
        "ОВК",
        "РВК.",
        "райвоенкомат",
        "горвоенкомат",
        "военкомат",
        "облвоенкомат",
        "СССР",
        "Казахская",
        "Казахстан",
        "ССР",
        "Российская",
        "РСФСР",
        "Украинская",
        "УССР",
        "уезд",
        "волость",
        "губерния",
        "губ",
    ]
)


def _stem_forms(stem: str) -> set[str]:
    """The stem in the spelling fold, plus its form before an adjective's "-ск" (Чимкент → чимкенц-ский)."""
    folded = fold(stem)
    forms = {folded} if folded else set()
    if folded.endswith("т"):
        forms.add(folded[:-1] + "ц")
    return forms


_STEMS: list[tuple[str, str]] = sorted(
    {(form, region) for region, stems in REGIONS.items() for stem in stems for form in _stem_forms(stem)}
    | {(_district_stem(*pair), region) for region, pairs in DISTRICTS.items() for pair in pairs},
    key=lambda p: (-len(p[0]), p[0]),
)
_WORD = re.compile(r"[\w'’ʻʼ\u0300-\u036f-]+", re.UNICODE)


@dataclass(frozen=True)
class PlaceProfile:
    """The regions a place text names (with the word that named each), its other words, folded, and the
    places within a region it names that the gazetteer knows (districts, towns)."""

    regions: tuple[tuple[str, str], ...]  # (region id, the word as written)
    words: tuple[str, ...]  # folded words that named no region (villages, raions), 4+ letters
    places: tuple[tuple[str, str], ...] = ()  # (place key, the word as written): Баянаульский р-н, г. Чимкент

    def to_json(self) -> list[Any]:
        """A JSON-able form read back by :meth:`from_json`."""
        data: list[Any] = [[list(r) for r in self.regions], list(self.words)]
        if self.places:
            data.append([list(p) for p in self.places])
        return data

    @staticmethod
    def from_json(data: list[Any]) -> PlaceProfile:
        """Reads the form written by :meth:`to_json`."""
        regions, words = data[0], data[1]
        places = data[2] if len(data) > 2 else []
        return PlaceProfile(
            tuple((str(a), str(b)) for a, b in regions),
            tuple(str(w) for w in words),
            tuple((str(a), str(b)) for a, b in places),
        )


_BY_HEAD: dict[str, list[tuple[str, str]]] = {}
for _stem, _region in _STEMS:  # longest first within each head, as in _STEMS
    _BY_HEAD.setdefault(_stem[:3], []).append((_stem, _region))


_REGION_OF_STEM: dict[str, str] = {}
for _stem, _region in _STEMS:
    _REGION_OF_STEM.setdefault(_stem, _region)


# Places whose name is shorter than a stem can be (Ош облусу): the word itself, whole, names the region.
_SHORT_NAMES: dict[str, tuple[str, str]] = {"ош": ("kg-osh", "ошск")}


@lru_cache(maxsize=100_000)
def _region_of(folded: str) -> tuple[str, str] | None:
    """(region, the stem that named it) for a folded word, or None."""
    if len(folded) < 3:
        return _SHORT_NAMES.get(folded)
    for stem, region in _BY_HEAD.get(folded[:3], ()):
        if folded.startswith(stem) and (len(stem) >= 4 or len(folded) <= len(stem) + 4):
            return region, stem
    return None


# One place under two names (a renaming, or the Kazakh and the Russian spelling far apart): the first
# name's stem stands for all. Spellings a letter apart (Баянаул, Баянауыл) need no entry: see same_place.
_SAME_PLACE: tuple[tuple[str, ...], ...] = (
    ("Качиры", "Теренколь"), ("Кургальджино", "Коргалжын"), ("Щучинск", "Бурабай"),
    ("Кармакчи", "Кармакшы"), ("Джувалы", "Жуалы"), ("Хобдинский", "Кобдинский"),
    ("Аулие-Ата", "Джамбул", "Тараз", "Мирзоян"), ("Верный", "Алма-Ата", "Алматы"),
    ("Гурьев", "Атырау"), ("Уральск", "Орал"), ("Семипалатинск", "Семей"),
    ("Усть-Каменогорск", "Оскемен"), ("Акмолинск", "Целиноград", "Астана", "Нур-Султан"),
    ("Петропавловск", "Кызылжар"), ("Кокчетав", "Кокшетау"), ("Лениногорск", "Риддер"),
    ("Перовск", "Кзыл-Орда"), ("Джезказган", "Жезказган"), ("Челкар", "Шалкар"),
    ("Аягуз", "Аягоз"), ("Чимкент", "Шымкент"), ("Отрар", "Отырар"), ("Тюлькубас", "Тулкибас"),
)  # fmt: skip
_CANONICAL: dict[str, str] = {}
for _names in _SAME_PLACE:
    _stems = [found[1] for found in (_region_of(fold(n)) for n in _names) if found is not None]
    for _other in _stems[1:]:
        _CANONICAL.setdefault(_other, _stems[0])


def _place_key(stem: str) -> str:
    return _CANONICAL.get(stem, stem)


def place_region(key: str) -> str | None:
    """The region a place key lies in."""
    return _REGION_OF_STEM.get(key)


def same_place(a: str, b: str) -> bool:
    """True when two place keys (the stems of a district, a town or a village) name one place: the same
    key, or two spellings of it a letter or so apart in one region (Баянаул, Баянауыл)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or _REGION_OF_STEM.get(a) != _REGION_OF_STEM.get(b):
        return False
    return Levenshtein.normalized_similarity(a, b) >= 0.8


@lru_cache(maxsize=100_000)
def place_profile(text: str) -> PlaceProfile:
    """Reduces a place text (any script, any era) to its regions, its places within them and its
    remaining words.

    A word that names a district, a town or a village (Баянаульский р-н, г. Чимкент) names its region and
    is kept as a place; when the text names a region itself and the place lies in another one (Свердловский
    р-н of Джамбулская обл. is not Свердловская обл.), the region wins and the word is kept as a word.
    """
    raw_words = _WORD.findall(text or "")
    folded_words = [fold(w) for w in raw_words]
    named: list[tuple[str, str, str, str]] = []  # (region, stem, the word as written, its fold)
    words: list[str] = []
    used: set[int] = set()
    for i, folded in enumerate(folded_words):
        if i in used or not folded or folded in _GENERIC:
            continue
        found = None
        for variant in fold_variants(raw_words[i]):
            found = _region_of(variant)
            if found is not None:
                break
        raw = raw_words[i]
        if i + 1 < len(folded_words):
            # "Южно Казахстанская", "Нижний Новгород" written as two words.
            pair = _region_of(folded + folded_words[i + 1])
            if pair is not None and len(pair[1]) > len(folded):
                found = pair
                used.add(i + 1)
                raw = raw_words[i] + " " + raw_words[i + 1]
        if found is not None:
            named.append((found[0], found[1], raw, folded))
        elif len(folded) >= 4:
            words.append(folded)
    within = [names_a_place_within(text, raw) for _, _, raw, _ in named]
    stated = {region for (region, *_), inside in zip(named, within, strict=True) if not inside}
    regions: list[tuple[str, str]] = []
    places: list[tuple[str, str]] = []
    for (region, stem, raw, folded), inside in zip(named, within, strict=True):
        if inside and stated and region not in stated:
            if len(folded) >= 4:
                words.append(folded)
            continue
        if inside:
            places.append((_place_key(stem), raw))
        if all(r != region for r, _ in regions):
            regions.append((region, raw))
    return PlaceProfile(tuple(regions), tuple(dict.fromkeys(words)), tuple(dict.fromkeys(places)))


_SEGMENT = re.compile(r"[^,]+")


def segment_naming(text: str, word: str) -> str:
    """The comma-separated segment of a place text that names ``word`` ("Баянаульский р-н")."""
    lower = word.lower()
    return next((s.strip() for s in re.split(r"[,;]", text or "") if lower in s.lower()), word)


def where_in(text: str, word: str) -> str:
    """The part of a place text from the segment naming ``word`` outwards, smallest first: "Баянаульский
    р-н, Павлодарская обл." for ``Баянаульский`` in "Павлодарская обл., Баянаульский р-н, с. Торайгыр".
    Of texts joined by ";" (a birthplace and a draft office), only the one naming ``word``."""
    lower = word.lower()
    part = next((p for p in (text or "").split(";") if lower in p.lower()), None)
    if part is None:
        return text
    segments = [s.strip() for s in _SEGMENT.findall(part) if s.strip()]
    at = next(i for i, s in enumerate(segments) if lower in s.lower())
    if any(m in segments[0].lower() for m in _REGION_MARKERS):  # written largest first: turn it round
        return ", ".join(reversed(segments[: at + 1]))
    return ", ".join(segments[at:])


# Words that make the word before them name a region (an oblast, a republic) rather than a place in it,
# and words that make it name a district.
_REGION_MARKERS = (
    "обл", "облыс", "облус", "obl", "oblys", "oblast", "viloyat", "welayat", "welaýat", "край", "krai", "kray",
    "асср", "республик", "respublik", "губерн", "велаят", "вилоят", "kraĭ", "ноҳия",
)  # fmt: skip
_DISTRICT_MARKERS = ("р-н", "район", "ауданы", "audany", "raion", "rayon", "tuman", "тумани")
_ADJECTIVE = re.compile(
    r"(?:ская|ской|ский|ское|ська|ський|ая|ый|ий|skaya|skaia|skaja|skai|skiy|skii|skij|skiĭ|skyi|sky)$"
)


_BEFORE_REGION = re.compile(
    r"(?:республик\w*|респ\.?|respublik\w*|republic\w*|respoublik\w*|вилояти|viloyati)\s*$"
)


@lru_cache(maxsize=20_000)
def names_a_place_within(text: str, word: str) -> bool:
    """True when ``word`` of the place ``text`` names a district, a town or a village (Баянаул, г. Чимкент,
    Сайрамский р-н) rather than a region itself (Туркестанская обл., Түркістан облысы, Республика
    Татарстан)."""
    lower, w = text.lower(), word.lower()
    at = lower.find(w)
    after = lower[at + len(w) :].lstrip(" ,.") if at >= 0 else ""
    if after.startswith(_DISTRICT_MARKERS):
        return True
    segment_after = re.split(r"[,;]", lower[at + len(w) :], maxsplit=1)[0] if at >= 0 else ""
    if any(m in segment_after for m in _REGION_MARKERS) or any(m in w for m in _REGION_MARKERS):
        return False
    if at >= 0 and _BEFORE_REGION.search(lower[:at]):
        return False
    return _ADJECTIVE.search(w) is None
